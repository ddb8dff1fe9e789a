"""V.253 voice modems: the wire format (v253), the driver (driver), and a simulated modem
(sim_modem) on a scripted line (sim_line). README.md in this folder says what is supported."""
