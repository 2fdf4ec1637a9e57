"""A progress bar over the named stages of a long command."""

from __future__ import annotations

from types import TracebackType

from tqdm import tqdm


class Stages:
    """Progress over a fixed list of stages (the work inside one stage is one SQL statement)."""

    def __init__(self, title: str, names: list[str]) -> None:
        self.names = names
        self.bar = tqdm(total=len(names), desc=f"{title}: {names[0]}", unit="step", leave=True)

    def __enter__(self) -> Stages:
        return self

    def next(self) -> None:
        """Mark the current stage done and show the next one."""
        self.bar.update(1)
        if self.bar.n < len(self.names):
            self.bar.set_description(
                f"{self.bar.desc.split(':')[0]}: {self.names[int(self.bar.n)]}"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.bar.update(len(self.names) - self.bar.n)
        self.bar.close()
