"""`make models`: trainers and label generators for the default models. Not part of the installed package."""
