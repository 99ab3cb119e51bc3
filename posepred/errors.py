"""The project's own error types: bad input that the command line reports in one line (exit 2).

Anything else that escapes a command is a bug and keeps its traceback.
"""

from __future__ import annotations


class PosepredError(ValueError):
    """Bad input from the user: the message names the file or option and what is wrong."""


class DataError(PosepredError):
    """A data file is missing or malformed; the message names the file and the fault."""


class CheckpointError(PosepredError):
    """A checkpoint is missing, corrupted, torn, or does not fit the configured model."""


class ConfigError(PosepredError):
    """A configuration value (from a config.json or the command line) has the wrong type or range."""


class OptionError(PosepredError):
    """A command-line option is invalid on its own or in combination with others."""
