#!/usr/bin/env node
import '../dist/pve-sim.mjs';
