"""The logic views call: each module owns one part of the domain."""
