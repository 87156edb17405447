"""Training callbacks: analyses that run inside the loop without the method knowing.

A method's own behaviour comes from its hooks; a callback is the same idea for something the
*user* switches on for any method (the information-plane analysis,
:class:`infofusion.training.info_plane.InfoPlane`). The trainer calls every callback after the
method's hook of the same name.
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Base class with no-op defaults; override what you need.

    A callback must not change training: it runs under its own random state and must leave the
    method's weights and mode as it found them.
    """

    def on_fit_start(self, trainer: Any) -> None:
        """Once per fit (also on resume), after the method's ``on_fit_start``."""

    def on_epoch_end(self, epoch: int, trainer: Any) -> dict[str, Any] | None:
        """After each training epoch and the method's ``on_epoch_end``, before validation.

        Returns:
            Entries merged into the epoch's history row (kept in checkpoints, so a resumed run
            keeps them), or None.
        """
        return None
