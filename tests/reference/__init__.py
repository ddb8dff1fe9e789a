"""Reference implementations that Linegate's DSP is measured against (test-only)."""
