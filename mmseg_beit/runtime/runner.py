"""mmengine's Runner, with the console the commands promise (:mod:`.console`)."""

from __future__ import annotations

import logging

import mmengine.runner
from mmengine.logging import MMLogger, print_log

from mmseg_beit.runtime.console import FileOnly, is_verbose


class Runner(mmengine.runner.Runner):
    """mmengine's Runner whose console shows progress and results; its log file has it all
    (the resolved config included, which is also dumped into the work dir)."""

    def build_logger(
        self, log_level: int | str = "INFO", log_file: str | None = None, **kwargs
    ) -> MMLogger:
        logger = super().build_logger(log_level, log_file, **kwargs)
        if is_verbose():
            return logger
        files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
        for handler in logger.handlers:
            if handler not in files:  # a FileHandler is a StreamHandler too
                handler.addFilter(FileOnly())
        if files:
            logger.info(f"log (with the whole config; --verbose shows it): {files[0].baseFilename}")
        return logger

    def _log_env(self, env_cfg: dict) -> None:
        super()._log_env(env_cfg)
        # The environment block is file-only; the screen keeps how the run is spread.
        launcher = self.launcher if self.distributed else "none"
        print_log(f"processes: {self.world_size} (launcher: {launcher})", "current")
