"""The portal's pages, one module per kind of person (sign-in and home for everyone)."""
