//! The clipboard effects: a copy out to the user's clipboard, an image from it into a
//! session. The host's clipboard is read here, at the edge, never in `update`.

use super::Runtime;
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::State;
use crate::backend::Backend;

impl<B: Backend> Runtime<B> {
    pub(super) fn clipboard(&mut self, effect: Effect, state: &State) {
        match effect {
            Effect::Copy { bytes, .. } => self.copier.copy(bytes, crate::notify::in_tmux()),
            Effect::PasteImage {
                session,
                container,
                fallback,
            } => {
                let tx = self.tx.clone();
                // The image goes to the session's engine; none while it is not connected.
                let Some(ops) = self.ops_for(state, &session).cloned() else {
                    let pasted = Err("the session's engine is not connected".to_string());
                    let _ = tx.send(Action::ImagePasted {
                        session,
                        pasted,
                        fallback,
                    });
                    return;
                };
                tokio::spawn(async move {
                    let image = tokio::task::spawn_blocking(crate::clipboard::image_png)
                        .await
                        .ok()
                        .flatten();
                    let pasted = match image {
                        None => Ok(None),
                        Some(png) => {
                            let size = png.len();
                            ops.write_pasted_image(&container, png)
                                .await
                                .map(|path| Some((path, size)))
                                .map_err(|e| e.to_string())
                        }
                    };
                    let _ = tx.send(Action::ImagePasted {
                        session,
                        pasted,
                        fallback,
                    });
                });
            }
            _ => {}
        }
    }
}
