# Dates as the region writes them in English (Belize): day, month, year; letters print them so.
DATE_FORMAT = "j F Y"
