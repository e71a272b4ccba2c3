// placeholder until the wire module lands
