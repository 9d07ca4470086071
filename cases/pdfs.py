"""What the PDFs Amparo writes share: fonts that cover accented names, page margins, styles."""

from pathlib import Path

import reportlab
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

MARGIN = 25 * mm


def register_fonts() -> None:
    # Vera ships with reportlab and covers Latin-1, so accented names render and extract.
    if "Vera" in pdfmetrics.getRegisteredFontNames():
        return
    fonts = Path(reportlab.__file__).parent / "fonts"
    for name in ("Vera", "VeraBd", "VeraIt", "VeraBI"):
        pdfmetrics.registerFont(TTFont(name, str(fonts / f"{name}.ttf")))
    pdfmetrics.registerFontFamily("Vera", normal="Vera", bold="VeraBd", italic="VeraIt", boldItalic="VeraBI")


BODY = ParagraphStyle("body", fontName="Vera", fontSize=10.5, leading=14, spaceAfter=6)
BOLD = ParagraphStyle("bold", parent=BODY, fontName="VeraBd")
TITLE = ParagraphStyle("title", parent=BOLD, fontSize=13, leading=17, spaceBefore=10, spaceAfter=10)
