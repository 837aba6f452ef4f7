"""Default shapes copied from real API responses (see /work/shared/sheets-cassettes)."""
import copy

DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme(color_type, rgb):
    return {"colorType": color_type, "color": {"rgbColor": rgb}}


SPREADSHEET_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        _theme("TEXT", {}),
        _theme("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
        _theme("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
        _theme("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
        _theme("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
        _theme("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
        _theme("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
        _theme("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
        _theme("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
    ],
}


def spreadsheet_properties(title):
    return {
        "title": title,
        "locale": "en_US",
        "autoRecalc": "ON_CHANGE",
        "timeZone": "Etc/GMT",
        "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
        "spreadsheetTheme": copy.deepcopy(SPREADSHEET_THEME),
    }


DEFAULT_ROW_PX = 21
DEFAULT_COL_PX = 100
