"""``python -m bot.console.samples``: write the sample inventory the console ships (``inventory.csv``) again."""

from bot.console.samples import SAMPLE_INVENTORY, sample_inventory_csv

SAMPLE_INVENTORY.write_text(sample_inventory_csv(), encoding="utf-8")
print(f"wrote {SAMPLE_INVENTORY}")
