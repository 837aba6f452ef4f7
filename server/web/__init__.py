"""The web side: the Flask app factory, the /api blueprint, pages (upload, gallery), signed
downloads, sign-in and signed links."""
