"""Pages of notebooks, documents and agents.

Access follows the API's rules (``accounts.page_access``): objects are looked up together with the
caller's membership of their space (``notebooks.selectors.*_for_member``), so an outsider gets 404
(nobody learns what exists elsewhere) and a viewer trying to change something 403. The views only
shape input and output: every rule is the services'.
"""
