"""Google Sheets: the client (transport, retries, errors), the sheet grid with its marks, template
tab and row anchors, and status write-back."""
