//! Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt, Unicode 16.0):
//! chars a terminal draws as nothing, so agent text can hide code in them ("invisible
//! identifiers"). Unassigned code points in the set are here too: a later font may draw
//! them blank. The Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) are in the set.

/// Inclusive ranges, sorted, not overlapping.
const DEFAULT_IGNORABLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` is Default_Ignorable_Code_Point: drawn as nothing by a terminal.
pub fn default_ignorable(c: char) -> bool {
    let c = c as u32;
    DEFAULT_IGNORABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_disjoint() {
        for w in DEFAULT_IGNORABLE.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:x?}");
        }
    }

    #[test]
    fn every_range_end_is_in_and_its_neighbours_are_out() {
        for &(lo, hi) in DEFAULT_IGNORABLE {
            for c in [lo, hi] {
                assert!(default_ignorable(char::from_u32(c).unwrap()), "{c:x}");
            }
            for c in [lo - 1, hi + 1] {
                let c = char::from_u32(c).unwrap();
                assert!(!default_ignorable(c), "{:x}", c as u32);
            }
        }
        for c in ['a', ' ', 'é', '日', 'ㄱ', '\u{1F600}'] {
            assert!(!default_ignorable(c), "{c}");
        }
    }
}
