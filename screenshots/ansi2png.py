#!/usr/bin/env python3
"""Renders a terminal capture (`tmux capture-pane -e -p`) to a PNG.

    ansi2png.py CAPTURE.ansi OUT.png --cols 150 --rows 42 [--title TEXT] [--font-size 16]

Handles SGR colours (16, 256 and truecolor; `;` or `:` separated), bold, dim, italic,
underline, reverse and strike; wide characters (by the C library's wcwidth, as tmux measures
them); box drawing and block elements drawn as shapes so lines join across cells; other
symbols from DejaVu Sans Mono, then DejaVu Sans, then Symbola. Needs Pillow and fontTools
(Debian: python3-pil python3-fonttools fonts-dejavu-core fonts-symbola).
"""
import argparse
import ctypes
import ctypes.util
import os
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont
from fontTools.ttLib import TTFont

# A dark theme; 0-15 are what ratatui's named colours map to.
DEFAULT_FG = (212, 212, 212)
DEFAULT_BG = (24, 26, 32)
PALETTE16 = [
    (40, 42, 54), (232, 92, 92), (120, 200, 110), (229, 192, 100),
    (97, 160, 239), (198, 120, 221), (86, 182, 194), (190, 196, 206),
    (118, 124, 140), (255, 122, 122), (160, 230, 140), (255, 214, 130),
    (124, 190, 255), (227, 154, 240), (127, 216, 227), (250, 250, 250),
]
CHROME = (44, 47, 56)

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/ancient-scripts",
             "/usr/share/fonts/truetype/symbola", "/usr/share/fonts/truetype",
             "/usr/share/fonts"]


def find_font(name):
    for d in FONT_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    for root, _, files in os.walk("/usr/share/fonts"):
        if name in files:
            return os.path.join(root, name)
    return None


def palette256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


# --- character widths, as tmux measures them -------------------------------------------------
_libc = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _libc.setlocale.restype = ctypes.c_char_p
    if not (_libc.setlocale(6, b"C.UTF-8") or _libc.setlocale(6, b"en_US.UTF-8")):  # LC_ALL
        _libc = None
    else:
        _libc.wcwidth.argtypes = [ctypes.c_wchar]
except OSError:
    _libc = None


def char_width(ch):
    if _libc is not None:
        w = _libc.wcwidth(ch)
        if w >= 0:
            return w
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# --- parsing -----------------------------------------------------------------------------------
class Attr:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse", "strike", "hidden")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.strike = self.hidden = False

    def copy(self):
        a = Attr()
        for s in Attr.__slots__:
            setattr(a, s, getattr(self, s))
        return a


def apply_sgr(attr, params):
    # Split into groups: "38:2::1:2:3" is one parameter with sub-parameters.
    groups = [p.split(":") for p in params.split(";")] if params else [["0"]]
    flat = []  # (code, subparams or None)
    for g in groups:
        flat.append((g[0], g[1:] if len(g) > 1 else None))
    i = 0

    def num(s):
        try:
            return int(s) if s != "" else 0
        except ValueError:
            return 0

    while i < len(flat):
        code, sub = flat[i]
        c = num(code)
        if c in (38, 48, 58):
            color = None
            if sub is not None:  # colon form
                if sub and num(sub[0]) == 5 and len(sub) >= 2:
                    color = palette256(num(sub[1]) & 255)
                elif sub and num(sub[0]) == 2:
                    rgb = sub[1:]
                    if len(rgb) >= 4:  # colourspace id present
                        rgb = rgb[1:]
                    if len(rgb) >= 3:
                        color = tuple(num(x) & 255 for x in rgb[:3])
            else:
                if i + 1 < len(flat) and num(flat[i + 1][0]) == 5 and i + 2 < len(flat):
                    color = palette256(num(flat[i + 2][0]) & 255)
                    i += 2
                elif i + 1 < len(flat) and num(flat[i + 1][0]) == 2 and i + 4 < len(flat):
                    color = tuple(num(flat[i + k][0]) & 255 for k in (2, 3, 4))
                    i += 4
            if c == 38:
                attr.fg = color
            elif c == 48:
                attr.bg = color
        elif c == 0:
            attr.reset()
        elif c == 1:
            attr.bold = True
        elif c == 2:
            attr.dim = True
        elif c == 3:
            attr.italic = True
        elif c == 4:
            attr.underline = not (sub is not None and sub and num(sub[0]) == 0)
        elif c == 7:
            attr.reverse = True
        elif c == 8:
            attr.hidden = True
        elif c == 9:
            attr.strike = True
        elif c == 21:
            attr.underline = True
        elif c == 22:
            attr.bold = attr.dim = False
        elif c == 23:
            attr.italic = False
        elif c == 24:
            attr.underline = False
        elif c == 27:
            attr.reverse = False
        elif c == 28:
            attr.hidden = False
        elif c == 29:
            attr.strike = False
        elif 30 <= c <= 37:
            attr.fg = PALETTE16[c - 30]
        elif c == 39:
            attr.fg = None
        elif 40 <= c <= 47:
            attr.bg = PALETTE16[c - 40]
        elif c == 49:
            attr.bg = None
        elif 90 <= c <= 97:
            attr.fg = PALETTE16[c - 90 + 8]
        elif 100 <= c <= 107:
            attr.bg = PALETTE16[c - 100 + 8]
        i += 1


ESC_RE = re.compile(
    r"\x1b\[([0-9;:?<=>]*)([ -/]*)([@-~])"      # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"       # OSC (hyperlinks)
    r"|\x1b[P_^][^\x1b]*\x1b\\"                 # DCS, APC, PM
    r"|\x1b[()][0-9A-Za-z]"                     # charset
    r"|\x1b[^\[\]P_^()]"                        # other two-byte escapes
)


def parse(text, cols, rows):
    """A grid of rows x cols cells: (char or None for a wide char's right half, Attr)."""
    blank = Attr()
    grid = [[(" ", blank) for _ in range(cols)] for _ in range(rows)]
    attr = Attr()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for y, line in enumerate(lines[:rows]):
        x = 0
        pos = 0
        while pos < len(line):
            m = ESC_RE.match(line, pos) if line[pos] == "\x1b" else None
            if m:
                if m.group(3) == "m" and m.group(2) == "" and not (m.group(1) or "").startswith(("?", ">", "<", "=")):
                    apply_sgr(attr, m.group(1) or "")
                pos = m.end()
                continue
            ch = line[pos]
            pos += 1
            if ch == "\x1b" or ch == "\r":
                continue
            if ch == "\t":
                nx = min(cols, (x // 8 + 1) * 8)
                while x < nx:
                    grid[y][x] = (" ", attr.copy())
                    x += 1
                continue
            if ord(ch) < 32 or ord(ch) == 127:
                continue
            w = char_width(ch)
            if w == 0:
                # Combining: join to the previous cell's character.
                if x > 0:
                    px = x - 1
                    if grid[y][px][0] is None and px > 0:
                        px -= 1
                    c, a = grid[y][px]
                    grid[y][px] = ((c or "") + ch, a)
                continue
            if x + w > cols:
                break
            grid[y][x] = (ch, attr.copy())
            if w == 2:
                grid[y][x + 1] = (None, attr.copy())
            x += w
    return grid


# --- fonts ---------------------------------------------------------------------------------------
class Fonts:
    def __init__(self, size):
        self.size = size
        names = {
            "mono": "DejaVuSansMono.ttf", "mono_bold": "DejaVuSansMono-Bold.ttf",
            "mono_italic": "DejaVuSansMono-Oblique.ttf",
            "mono_bold_italic": "DejaVuSansMono-BoldOblique.ttf",
            "sans": "DejaVuSans.ttf", "sans_bold": "DejaVuSans-Bold.ttf",
            "symbola": "Symbola_hint.ttf",
        }
        self.paths = {}
        for k, n in names.items():
            p = find_font(n)
            if p is None and k == "symbola":
                p = find_font("Symbola.ttf")
            if p:
                self.paths[k] = p
        if "mono" not in self.paths:
            sys.exit("ansi2png: DejaVu Sans Mono not found (Debian: apt-get install fonts-dejavu-core)")
        for k in ("mono_bold", "mono_italic", "mono_bold_italic"):
            self.paths.setdefault(k, self.paths["mono"])
        self.cmaps = {}
        for k, p in self.paths.items():
            try:
                self.cmaps[k] = set(TTFont(p, lazy=True, fontNumber=0).getBestCmap().keys())
            except Exception:
                self.cmaps[k] = set()
        self._cache = {}
        mono = self.font("mono")
        self.ascent, self.descent = mono.getmetrics()
        self.cw = round(mono.getlength("M"))
        self.ch = self.ascent + self.descent + 1

    def font(self, key, size=None):
        size = size or self.size
        k = (key, size)
        if k not in self._cache:
            self._cache[k] = ImageFont.truetype(self.paths[key], size)
        return self._cache[k]

    def pick(self, text, bold, italic):
        """(font, is_fallback) for a cell's text."""
        cp = ord(text[0])
        style = "mono" + ("_bold" if bold else "") + ("_italic" if italic else "")
        if style == "mono_italic_bold":
            style = "mono_bold_italic"
        for key in (style, "mono"):
            if cp in self.cmaps.get(key, ()):
                return key, False
        for key in (("sans_bold", "sans") if bold else ("sans",)) + ("symbola",):
            if key in self.paths and cp in self.cmaps.get(key, ()):
                return key, True
        return "mono", False


# --- box drawing and blocks ------------------------------------------------------------------
# (up, down, left, right) weights: 1 light, 2 heavy, 3 double.
BOX = {}


def _box(chars, spec):
    for ch, s in zip(chars, spec):
        BOX[ch] = s


_box("─━│┃", [(0, 0, 1, 1), (0, 0, 2, 2), (1, 1, 0, 0), (2, 2, 0, 0)])
_box("┌┍┎┏", [(0, 1, 0, 1), (0, 1, 0, 2), (0, 2, 0, 1), (0, 2, 0, 2)])
_box("┐┑┒┓", [(0, 1, 1, 0), (0, 1, 2, 0), (0, 2, 1, 0), (0, 2, 2, 0)])
_box("└┕┖┗", [(1, 0, 0, 1), (1, 0, 0, 2), (2, 0, 0, 1), (2, 0, 0, 2)])
_box("┘┙┚┛", [(1, 0, 1, 0), (1, 0, 2, 0), (2, 0, 1, 0), (2, 0, 2, 0)])
_box("├┝┠┣", [(1, 1, 0, 1), (1, 1, 0, 2), (2, 2, 0, 1), (2, 2, 0, 2)])
_box("┤┥┨┫", [(1, 1, 1, 0), (1, 1, 2, 0), (2, 2, 1, 0), (2, 2, 2, 0)])
_box("┬┯┰┳", [(0, 1, 1, 1), (0, 1, 2, 2), (0, 2, 1, 1), (0, 2, 2, 2)])
_box("┴┷┸┻", [(1, 0, 1, 1), (1, 0, 2, 2), (2, 0, 1, 1), (2, 0, 2, 2)])
_box("┼╋", [(1, 1, 1, 1), (2, 2, 2, 2)])
_box("═║╔╗╚╝╠╣╦╩╬", [(0, 0, 3, 3), (3, 3, 0, 0), (0, 3, 0, 3), (0, 3, 3, 0), (3, 0, 0, 3),
                    (3, 0, 3, 0), (3, 3, 0, 3), (3, 3, 3, 0), (0, 3, 3, 3), (3, 0, 3, 3),
                    (3, 3, 3, 3)])
_box("╴╵╶╷╸╹╺╻", [(0, 0, 1, 0), (1, 0, 0, 0), (0, 0, 0, 1), (0, 1, 0, 0),
                  (0, 0, 2, 0), (2, 0, 0, 0), (0, 0, 0, 2), (0, 2, 0, 0)])
ROUND = {"╭": ("down", "right"), "╮": ("down", "left"), "╰": ("up", "right"), "╯": ("up", "left")}


def draw_box(d, ch, x, y, cw, chh, fg, thin):
    if ch in ROUND:
        vert, horiz = ROUND[ch]
        cx, cy = x + cw // 2, y + chh // 2
        r = max(2, min(cw, chh) // 2)
        # Straight parts to the edges, then a quarter circle joining them.
        if vert == "down":
            d.rectangle([cx, cy + r, cx + thin - 1, y + chh - 1], fill=fg)
        else:
            d.rectangle([cx, y, cx + thin - 1, cy - r], fill=fg)
        if horiz == "right":
            d.rectangle([cx + r, cy, x + cw - 1, cy + thin - 1], fill=fg)
        else:
            d.rectangle([x, cy, cx - r, cy + thin - 1], fill=fg)
        # The arc's box: centred at the inner corner.
        ax = cx + (r if horiz == "right" else -r)
        ay = cy + (r if vert == "down" else -r)
        start = {("down", "right"): 180, ("down", "left"): 270,
                 ("up", "right"): 90, ("up", "left"): 0}[(vert, horiz)]
        d.arc([ax - r, ay - r, ax + r + thin - 1, ay + r + thin - 1], start, start + 90,
              fill=fg, width=thin)
        return True
    spec = BOX.get(ch)
    if spec is None:
        return False
    up, down, left, right = spec
    cx, cy = x + cw // 2, y + chh // 2

    def width(w):
        return thin * 2 if w == 2 else thin

    def vline(weight, y0, y1):
        if weight == 3:
            g = max(1, thin)
            for off in (-g - thin + 1, g):
                d.rectangle([cx + off, y0, cx + off + thin - 1, y1], fill=fg)
        elif weight:
            t = width(weight)
            d.rectangle([cx - (t - thin) // 2, y0, cx - (t - thin) // 2 + t - 1, y1], fill=fg)

    def hline(weight, x0, x1):
        if weight == 3:
            g = max(1, thin)
            for off in (-g - thin + 1, g):
                d.rectangle([x0, cy + off, x1, cy + off + thin - 1], fill=fg)
        elif weight:
            t = width(weight)
            d.rectangle([x0, cy - (t - thin) // 2, x1, cy - (t - thin) // 2 + t - 1], fill=fg)

    # Each arm reaches across the perpendicular line so that corners and joins are closed.
    def before(w):  # how far a line of weight w reaches before the centre line
        return {0: 0, 1: 0, 2: (thin * 2 - thin) // 2, 3: max(1, thin) + thin - 1}[w]

    def after(w):  # ... and after it
        return {0: 0, 1: thin - 1, 2: thin * 2 - 1 - (thin * 2 - thin) // 2,
                3: max(1, thin) + thin - 1}[w]

    hw, vw = max(left, right), max(up, down)
    vline(up, y, cy + (after(hw) if not down else 0))
    vline(down, cy - (before(hw) if not up else 0), y + chh - 1)
    hline(left, x, cx + (after(vw) if not right else 0))
    hline(right, cx - (before(vw) if not left else 0), x + cw - 1)
    return True


def blend(a, b, t):
    return tuple(round(a[i] * (1 - t) + b[i] * t) for i in range(3))


def draw_block(d, ch, x, y, cw, chh, fg, bg):
    o = ord(ch)
    if not (0x2580 <= o <= 0x259F):
        return False
    if ch == "█":
        d.rectangle([x, y, x + cw - 1, y + chh - 1], fill=fg)
    elif ch == "▀":
        d.rectangle([x, y, x + cw - 1, y + chh // 2 - 1], fill=fg)
    elif 0x2581 <= o <= 0x2587:  # lower eighths
        h = round(chh * (o - 0x2580) / 8)
        d.rectangle([x, y + chh - h, x + cw - 1, y + chh - 1], fill=fg)
    elif 0x2589 <= o <= 0x258F:  # left eighths, ▉ (7/8) to ▏ (1/8)
        w = max(1, round(cw * (0x2590 - o) / 8))
        d.rectangle([x, y, x + w - 1, y + chh - 1], fill=fg)
    elif ch == "▐":
        d.rectangle([x + cw // 2, y, x + cw - 1, y + chh - 1], fill=fg)
    elif ch in "░▒▓":
        t = {"░": 0.25, "▒": 0.5, "▓": 0.75}[ch]
        d.rectangle([x, y, x + cw - 1, y + chh - 1], fill=blend(bg, fg, t))
    elif ch == "▔":
        d.rectangle([x, y, x + cw - 1, y + max(1, chh // 8) - 1], fill=fg)
    elif ch == "▕":
        d.rectangle([x + cw - max(1, cw // 8), y, x + cw - 1, y + chh - 1], fill=fg)
    else:
        return False
    return True


# --- rendering -----------------------------------------------------------------------------------
def render(grid, cols, rows, fonts, title, pad, chrome):
    cw, chh = fonts.cw, fonts.ch
    thin = max(1, round(fonts.size / 14))
    bar = round(chh * 1.7) if chrome else 0
    W = cols * cw + 2 * pad
    H = rows * chh + 2 * pad + bar
    img = Image.new("RGB", (W, H), DEFAULT_BG)
    d = ImageDraw.Draw(img)
    if chrome:
        d.rectangle([0, 0, W, bar], fill=CHROME)
        r = max(4, bar // 5)
        for i, c in enumerate([(255, 95, 86), (255, 189, 46), (39, 201, 63)]):
            cx = pad + r + i * (3 * r)
            d.ellipse([cx - r, bar // 2 - r, cx + r, bar // 2 + r], fill=c)
        if title:
            f = fonts.font("sans", max(10, round(fonts.size * 0.85)))
            tw = f.getlength(title)
            d.text(((W - tw) / 2, bar / 2), title, font=f, fill=(170, 174, 184), anchor="lm")
    oy = bar + pad
    for y in range(rows):
        for x in range(cols):
            text, a = grid[y][x]
            if text is None:
                continue
            wide = x + 1 < cols and grid[y][x + 1][0] is None
            span = 2 if wide else 1
            fg = a.fg or DEFAULT_FG
            bg = a.bg or DEFAULT_BG
            if a.reverse:
                fg, bg = (a.bg or DEFAULT_BG), (a.fg or DEFAULT_FG)
            if a.dim:
                fg = blend(fg, bg, 0.45)
            px, py = pad + x * cw, oy + y * chh
            if bg != DEFAULT_BG:
                d.rectangle([px, py, px + span * cw - 1, py + chh - 1], fill=bg)
            if a.hidden or text == " ":
                pass
            elif len(text) == 1 and draw_box(d, text, px, py, cw, chh, fg, thin):
                pass
            elif len(text) == 1 and draw_block(d, text, px, py, cw, chh, fg, bg):
                pass
            else:
                key, fallback = fonts.pick(text, a.bold, a.italic)
                font = fonts.font(key)
                room = span * cw
                if fallback:
                    # Fit a proportional font's glyph into its cells.
                    size = fonts.size
                    while size > 6 and font.getlength(text) > room + 1:
                        size -= 1
                        font = fonts.font(key, size)
                glyph_w = font.getlength(text)
                gx = px + max(0, (room - glyph_w) / 2) if (fallback or span == 2) else px
                d.text((gx, py + chh / 2 + 0.5), text, font=font, fill=fg, anchor="lm")
                if a.bold and fallback and key == "symbola":
                    d.text((gx + 1, py + chh / 2 + 0.5), text, font=font, fill=fg, anchor="lm")
            if a.underline:
                uy = py + fonts.ascent + max(1, fonts.descent // 2)
                d.rectangle([px, uy, px + span * cw - 1, uy + thin - 1], fill=fg)
            if a.strike:
                sy = py + chh // 2
                d.rectangle([px, sy, px + span * cw - 1, sy + thin - 1], fill=fg)
    if chrome:
        # Rounded window corners on a transparent background.
        mask = Image.new("L", (W, H), 0)
        ImageDraw.Draw(mask).rounded_rectangle([0, 0, W - 1, H - 1], radius=max(6, pad // 2), fill=255)
        out = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        out.paste(img, (0, 0), mask)
        return out
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("out")
    ap.add_argument("--cols", type=int, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--font-size", type=int, default=16)
    ap.add_argument("--pad", type=int, default=14)
    ap.add_argument("--no-chrome", action="store_true", help="no window title bar")
    args = ap.parse_args()
    with open(args.capture, encoding="utf-8", errors="replace") as f:
        text = f.read()
    grid = parse(text, args.cols, args.rows)
    fonts = Fonts(args.font_size)
    img = render(grid, args.cols, args.rows, fonts, args.title, args.pad, not args.no_chrome)
    img.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
