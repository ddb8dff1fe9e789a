"""The simulated telephone network behind the simulated boards (see
``lineside`` for how a board simulator and the network meet).

network        TelephoneNetwork: the lineside Network, one tick per board per 20 ms
directory      the TOML directory (DIRECTORY.md): numbers, behaviours, lines, inbound, phones
number_pattern numbers and Asterisk-style patterns
exchange_line  an FXO port's exchange        phone     an FXS port's phone and its user
far_end        the behaviours as programs    inbound   Poisson calls to our lines
hook           pulses, flashes, hang-ups     call      the record of a call
sound          G.711 sounds and the player   tone_library, voices  what is played
"""
