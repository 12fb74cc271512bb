"""``python -m kpirules_emulator --port 8085 --workbook kpis.xlsx``"""

import sys

from kpirules_emulator.sheets import main

sys.exit(main())
