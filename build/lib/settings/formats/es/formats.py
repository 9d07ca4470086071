# Django's own Spanish date format, stated here so that both languages are read from one place.
DATE_FORMAT = r"j \d\e F \d\e Y"
