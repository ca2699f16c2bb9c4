"""The built-in table rates as a carrier: quotes are the store's own shipping methods for the parcel
(shop.shipping_options, priced by the database into parcel["table_rates"]); no labels are sold, so staff
type the tracking number of whatever courier takes the parcel, as before."""

from __future__ import annotations

from typing import Any

from . import CarrierRefused, Label, Rate, TrackingEvent


class TableCarrier:
    code = "table"
    sells_labels = False

    async def quote(self, parcel: dict[str, Any]) -> list[Rate]:
        return [Rate(carrier=self.code, service=r["code"], name=r["name"], amount=int(r["amount"]),
                     currency=parcel["currency"], estimated_days=None) for r in parcel.get("table_rates") or []]

    async def buy_label(self, parcel: dict[str, Any], service: str | None, idempotency_key: str) -> Label:
        raise CarrierRefused("labels_not_sold", "The table-rate carrier sells no labels; type the tracking number.")

    def tracking_event(self, body: bytes, headers: dict[str, str]) -> TrackingEvent | None:
        return None

    async def close(self) -> None:
        return None
