"""sheetbatch: bulk AI image generation driven from a spreadsheet (one sub-package per concept)."""
