"""What every staff page shares: who is asking, enrolment, forms and rate limits.

The lawyer and admin blueprints both build on this package and never import
each other (tests/test_layering.py holds that).
"""
