"""Day plans across the interview routes: travel table, ordering, map links, calendar."""
