"""stockplane's shared kernel: settings, errors and the root command line."""

__version__ = "0.1.0"
