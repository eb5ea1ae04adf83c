"""Pure rules of the gateway: no I/O, no clocks read directly (times are passed in)."""
