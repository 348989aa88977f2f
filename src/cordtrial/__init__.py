"""cordtrial: clinical research platform for autologous stem-cell therapy in spinal cord injury."""

__version__ = "0.1.0"
