"""Policy: the rules applied to what the model holds: rights, the site's addresses,
delivery reports (bounces) and what authentication results are believed."""
