"""Figures in the HTML pages are sharp: inside IPython they display as PNG at twice the resolution."""
from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from analysis.reporting import plots


def test_notebook_figures_are_2x_png_shown_at_their_size():
    shell = InteractiveShell.instance()
    try:
        plots.setup("en")
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.plot([0, 1], [0, 1])
        plt.close(fig)
        data, metadata = shell.display_formatter.format(fig)
        png = data["image/png"]
        width, _ = Image.open(io.BytesIO(png if isinstance(png, bytes) else base64.b64decode(png))).size
        shown = metadata["image/png"]["width"]
        assert width >= 2 * shown - 2 and shown >= 400   # a 5-inch figure at 110 dpi, drawn at 220
    finally:
        InteractiveShell.clear_instance()
