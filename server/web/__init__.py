"""The web side: the Flask app factory, the /api blueprint, pages (upload, gallery), signed
downloads and sign-in. Nothing outside it imports it: what other parts share with it (the signed
links, who is calling) lives beside it in `server/`."""
