"""The route table: METHOD /path → one `api` function. The only list of what the HTTP API offers;
the app, the OpenAPI document and the tests all read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from . import schemas as s

Auth = Literal["none", "optional", "required"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str | None  # api.<function>; None for the service routes handled in Python
    summary: str  # used when the function has no COMMENT
    tag: str
    status: int = 200
    auth: Auth = "optional"  # "required": OpenAPI says so; the database's grants still decide
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    cacheable: bool = False  # catalog reads: ETag, Cache-Control, If-None-Match → 304
    # Python around the call (argon2, tokens, TOTP): without a function, app.STEPS answers whole; with one,
    # app.PREPARES takes the plain secrets out of the arguments and derives what the database may see.
    step: str | None = None
    # "text/csv": the body is CSV, decoded into {"rows": [[cell, ...], ...]} (header first); the function's
    # result is then a JSON string sent as a text/csv body. Decoding only: the database checks the rows.
    consumes: str = "application/json"
    produces: str = "application/json"
    # JSON by default, or the function's CSV (args.format = "csv") with ?format=csv or Accept: text/csv.
    csv_export: bool = False


ROUTES: tuple[Route, ...] = (
    # service
    Route("GET", "/health", None, "Liveness: 200 while the process runs.", "service", auth="none",
          response=s.Status, step="health"),
    Route("GET", "/ready", None, "Readiness: 200 when the database answers and migrations are current.",
          "service", auth="none", response=s.Status, step="ready"),
    # accounts
    Route("POST", "/v1/auth/register", "register", "Create a customer account.", "accounts", status=201,
          auth="none", request=s.RegisterRequest, response=s.RegisterResponse, step="register"),
    Route("POST", "/v1/auth/login", None, "Exchange email and password (and OTP) for tokens.", "accounts",
          auth="none", request=s.LoginRequest, response=s.TokenResponse, step="login"),
    Route("POST", "/v1/auth/staff-invitations/accept", "accept_staff_invitation",
          "Set an invited staff member's first password with the invitation token.", "accounts", status=204,
          auth="none", request=s.StaffInvitationAcceptRequest, step="staff_invitation"),
    # account recovery and verification (docs/email.md): the tokens arrive by mail, checked in Python
    Route("POST", "/v1/auth/password-reset", "request_password_reset",
          "Mail a password reset link (202 whether or not the address has an account).", "accounts", status=202,
          auth="none", request=s.PasswordResetRequest),
    Route("POST", "/v1/auth/password-reset/confirm", "confirm_password_reset",
          "Set a new password with a reset token; every session of the account ends.", "accounts", status=204,
          auth="none", request=s.PasswordResetConfirmRequest, step="password_reset"),
    Route("POST", "/v1/auth/verify-email/confirm", "confirm_email_verification",
          "Verify an account's e-mail address with the token the verification mail carried.", "accounts",
          status=204, auth="none", request=s.TokenRequest, step="email_verification"),
    Route("POST", "/v1/me/verify-email", "request_email_verification",
          "Mail a new verification link to the signed-in account's address.", "accounts", status=202,
          auth="required"),
    Route("POST", "/v1/unsubscribe", None,
          "One-click unsubscribe from marketing mail (RFC 8058): ?token= from the mail's List-Unsubscribe.",
          "accounts", auth="none", response=s.Unsubscribed, step="unsubscribe"),
    Route("POST", "/v1/auth/refresh", None, "Exchange a refresh token for new tokens (single use).",
          "accounts", auth="none", request=s.RefreshRequest, response=s.TokenResponse, step="refresh"),
    Route("POST", "/v1/auth/logout", "logout", "Revoke the current access and refresh tokens.", "accounts",
          status=204, auth="required"),
    Route("GET", "/v1/me", "me", "The signed-in account.", "accounts", auth="required", response=s.Me),
    Route("PATCH", "/v1/me", "update_me", "Change the signed-in account's profile.", "accounts",
          auth="required", request=s.UpdateMeRequest, response=s.Me),
    Route("GET", "/v1/me/addresses", "list_addresses", "The caller's addresses, newest first.", "accounts",
          auth="required", query=s.ListQuery, response=s.AddressList),
    Route("POST", "/v1/me/addresses", "add_address", "Add an address to the caller's address book.",
          "accounts", status=201, auth="required", request=s.AddressRequest, response=s.Address),
    Route("PATCH", "/v1/me/addresses/{id}", "update_address", "Change one of the caller's addresses.",
          "accounts", auth="required", request=s.AddressUpdateRequest, response=s.Address),
    Route("DELETE", "/v1/me/addresses/{id}", "delete_address", "Remove one of the caller's addresses.",
          "accounts", status=204, auth="required"),
    Route("POST", "/v1/me/mfa/totp", None, "Start TOTP enrolment: a new secret to confirm.", "accounts",
          auth="required", response=s.TotpSetupResponse, step="totp_setup"),
    Route("PUT", "/v1/me/mfa/totp", "enable_totp",
          "Turn MFA on: the password, the new secret and a current code; returns ten recovery codes once.",
          "accounts", auth="required", request=s.TotpEnableRequest, response=s.RecoveryCodes, step="enable_totp"),
    Route("DELETE", "/v1/me/mfa/totp", "disable_totp",
          "Turn MFA off: the password and a current code or a recovery code.", "accounts", status=204,
          auth="required", request=s.TotpDisableRequest, step="disable_totp"),
    # personal data (docs/privacy.md)
    Route("GET", "/v1/me/export", "export_me", "Everything held about the caller, as one JSON document.",
          "accounts", auth="required", response=s.MeExport),
    Route("DELETE", "/v1/me", "delete_me",
          "Erase the caller's account: personal data anonymised, orders kept for accounting, sessions revoked.",
          "accounts", status=204, auth="required", request=s.DeleteMeRequest, step="delete_me"),
    # staff
    Route("POST", "/v1/admin/staff", "create_staff", "Create a staff account (store_admin).", "staff",
          status=201, auth="required", request=s.CreateStaffRequest, response=s.StaffResponse,
          step="create_staff"),
    Route("GET", "/v1/admin/staff", "admin_list_staff", "The staff, by e-mail (store_admin).", "staff",
          auth="required", query=s.StaffQuery, response=s.StaffList),
    Route("PATCH", "/v1/admin/staff/{id}", "update_staff",
          "Change a staff member's roles, or deactivate or reactivate them (store_admin).", "staff",
          auth="required", request=s.UpdateStaffRequest, response=s.StaffResponse),
    # audit trail (docs/audit.md; store_admin)
    Route("GET", "/v1/admin/audit", "list_audit_records", "The audit trail, newest first (store_admin).", "audit",
          auth="required", query=s.AuditQuery, response=s.AuditList),
    # staff reports (docs/dashboard.md): what the dashboard at /admin/dashboard draws
    Route("GET", "/v1/admin/reports/{name}", "admin_report",
          "One report's rows (sales_daily, conversion_funnel_daily, top_products, low_stock); CSV with "
          "?format=csv or Accept: text/csv.", "reports", auth="required", query=s.ReportQuery,
          response=s.Report, csv_export=True),
    # catalog
    Route("GET", "/v1/products", "list_products", "Published products, searchable and filterable.",
          "catalog", query=s.ProductQuery, response=s.ProductList, cacheable=True),
    Route("GET", "/v1/products/{id_or_slug}", "get_product", "One published product with its variants.",
          "catalog", query=s.ProductQueryOne, response=s.Product, cacheable=True),
    Route("GET", "/v1/products/{id_or_slug}/recommendations", "product_recommendations",
          "Products to show beside this one: frequently bought together or also viewed, then same-category "
          "bestsellers.", "catalog", query=s.RecommendationQuery, response=s.RecommendationList, cacheable=True),
    Route("GET", "/v1/categories", "list_categories", "The category tree.", "catalog",
          response=s.CategoryTree, cacheable=True),
    # behaviour events (docs/events.md): the storefront's clickstream, in batches
    Route("POST", "/v1/events", "record_events", "Record a batch of up to 100 behaviour events.", "events",
          status=202, request=s.EventBatch, response=s.EventsAccepted),
    # stores near me (pickup stores and public warehouses)
    Route("GET", "/v1/stores", "list_stores", "Pickup stores and public warehouses, nearest first with near.",
          "stores", query=s.StoreQuery, response=s.StoreList, cacheable=True),
    Route("GET", "/v1/admin/stores", "admin_list_stores", "Every place, listed or not (catalog_manager).", "stores",
          auth="required", query=s.ListQuery, response=s.AdminPlaceList),
    Route("POST", "/v1/admin/stores", "create_store", "Add a store or warehouse (catalog_manager).", "stores",
          status=201, auth="required", request=s.CreateStoreRequest, response=s.AdminStore),
    Route("PATCH", "/v1/admin/stores/{id}", "update_store", "Change a store or warehouse (catalog_manager).",
          "stores", auth="required", request=s.UpdateStoreRequest, response=s.AdminPlace),
    # prices: customer groups, price lists, markdowns (docs/pricing.md)
    Route("POST", "/v1/admin/customer-groups", "create_customer_group",
          "Create a customer group (catalog_manager or store_admin).", "prices", status=201, auth="required",
          request=s.CustomerGroupRequest, response=s.CustomerGroupResponse),
    Route("PUT", "/v1/admin/customers/{id}/customer-group", "set_customer_group",
          "Put a customer in a customer group or none (catalog_manager or store_admin).", "prices",
          auth="required", request=s.SetCustomerGroupRequest, response=s.SetCustomerGroupResponse),
    Route("GET", "/v1/admin/price-lists", "list_price_lists", "Every price list (catalog_manager).", "prices",
          auth="required", query=s.ListQuery, response=s.PriceListList),
    Route("POST", "/v1/admin/price-lists", "create_price_list", "Create a price list (catalog_manager).",
          "prices", status=201, auth="required", request=s.PriceListRequest, response=s.PriceListResponse),
    Route("GET", "/v1/admin/price-lists/{id}", "get_price_list", "A price list with its prices (catalog_manager).",
          "prices", auth="required", response=s.PriceListDetail),
    Route("PATCH", "/v1/admin/price-lists/{id}", "update_price_list", "Change a price list (catalog_manager).",
          "prices", auth="required", request=s.PriceListUpdate, response=s.PriceListResponse),
    Route("DELETE", "/v1/admin/price-lists/{id}", "delete_price_list",
          "Delete a price list and its prices (catalog_manager).", "prices", status=204, auth="required"),
    Route("PUT", "/v1/admin/price-lists/{id}/prices", "replace_price_list_prices",
          "Replace a price list's prices, all or nothing (catalog_manager).", "prices", auth="required",
          request=s.PriceListPricesRequest, response=s.PriceListPricesResponse),
    Route("GET", "/v1/admin/markdowns", "list_markdowns", "Markdowns, latest start first (catalog_manager).",
          "prices", auth="required", query=s.MarkdownQuery, response=s.MarkdownList),
    Route("POST", "/v1/admin/markdowns", "create_markdown",
          "Schedule a percent markdown on a category, product or collection (catalog_manager).", "prices",
          status=201, auth="required", request=s.MarkdownRequest, response=s.MarkdownResponse),
    Route("DELETE", "/v1/admin/markdowns/{id}", "delete_markdown", "Delete a markdown (catalog_manager).",
          "prices", status=204, auth="required"),
    # tax and shipping (docs/tax-and-shipping.md): staff read, store_admin writes
    Route("GET", "/v1/admin/tax-rates", "admin_list_tax_rates", "Tax rates (any staff member).", "tax and shipping",
          auth="required", query=s.TaxRateQuery, response=s.TaxRateList),
    Route("POST", "/v1/admin/tax-rates", "admin_create_tax_rate", "Add a tax rate (store_admin).", "tax and shipping",
          status=201, auth="required", request=s.TaxRateRequest, response=s.TaxRateResponse),
    Route("GET", "/v1/admin/shipping-methods", "admin_list_shipping_methods",
          "Shipping methods, active or not (any staff member).", "tax and shipping", auth="required",
          query=s.ListQuery, response=s.ShippingMethodList),
    Route("POST", "/v1/admin/shipping-methods", "admin_create_shipping_method",
          "Add a shipping method to a zone (store_admin).", "tax and shipping", status=201, auth="required",
          request=s.ShippingMethodRequest, response=s.ShippingMethodResponse),
    # staff catalog management (catalog_manager; the database refuses everyone else)
    Route("POST", "/v1/admin/product-types", "admin_create_product_type", "Create a product type.", "catalog admin",
          status=201, auth="required", request=s.ProductTypeRequest, response=s.ProductType),
    Route("PATCH", "/v1/admin/product-types/{id}", "admin_update_product_type", "Change a product type.",
          "catalog admin", auth="required", request=s.ProductTypeUpdate, response=s.ProductType),
    Route("GET", "/v1/admin/products", "admin_list_products", "Every product, with its status.", "catalog admin",
          auth="required", query=s.AdminProductQuery, response=s.AdminProductList),
    Route("POST", "/v1/admin/products", "admin_create_product", "Create a product.", "catalog admin", status=201,
          auth="required", request=s.ProductCreate, response=s.AdminProduct),
    # before /v1/admin/products/{id}: routes match in this order
    Route("POST", "/v1/admin/products/import", "admin_import_products", "Import products from CSV (all or nothing).",
          "catalog admin", auth="required", consumes="text/csv", response=s.ImportResult),
    Route("GET", "/v1/admin/products/export", "admin_export_products", "Every product as CSV.", "catalog admin",
          auth="required", produces="text/csv"),
    Route("GET", "/v1/admin/products/{id}", "admin_get_product", "One product, whatever its status.",
          "catalog admin", auth="required", response=s.AdminProduct),
    Route("PATCH", "/v1/admin/products/{id}", "admin_update_product", "Change a product.", "catalog admin",
          auth="required", request=s.ProductWrite, response=s.AdminProduct),
    Route("DELETE", "/v1/admin/products/{id}", "admin_delete_product",
          "Delete a product never shown on the storefront (else archive it).", "catalog admin", status=204,
          auth="required"),
    Route("DELETE", "/v1/admin/products/{id}/media/{media_id}", "admin_delete_product_media",
          "Remove one image of a product.", "catalog admin", status=204, auth="required"),
    Route("POST", "/v1/admin/categories", "admin_create_category", "Create a category.", "catalog admin",
          status=201, auth="required", request=s.CategoryCreate, response=s.AdminCategory),
    Route("PATCH", "/v1/admin/categories/{id}", "admin_update_category", "Rename or move a category.",
          "catalog admin", auth="required", request=s.CategoryWrite, response=s.AdminCategory),
    Route("DELETE", "/v1/admin/categories/{id}", "admin_delete_category", "Delete an empty category.",
          "catalog admin", status=204, auth="required"),
    Route("POST", "/v1/admin/collections", "admin_create_collection", "Create a collection.", "catalog admin",
          status=201, auth="required", request=s.CollectionCreate, response=s.AdminCollection),
    Route("PUT", "/v1/admin/collections/{id}/products", "admin_set_collection_products",
          "Set a collection's products, in order.", "catalog admin", auth="required",
          request=s.CollectionProductsRequest, response=s.AdminCollection),
    Route("DELETE", "/v1/admin/collections/{id}", "admin_delete_collection",
          "Delete a collection (its products stay).", "catalog admin", status=204, auth="required"),
    Route("GET", "/v1/collections/{slug}", "get_collection", "A collection with its published products.",
          "catalog", query=s.CollectionQuery, response=s.Collection, cacheable=True),
    # inventory (docs/inventory.md): inventory_manager writes, order_manager reads too
    Route("GET", "/v1/admin/inventory/{sku}", "admin_get_inventory", "A SKU's stock, per warehouse.", "inventory",
          auth="required", response=s.Inventory),
    Route("PUT", "/v1/admin/inventory/{sku}", "admin_set_inventory",
          "Set a SKU's on_hand in a warehouse to a counted value.", "inventory", auth="required",
          request=s.SetStockRequest, response=s.StockLevel),
    Route("PATCH", "/v1/admin/inventory/{sku}", "admin_update_inventory",
          "Change a SKU's backorder limit and low-stock threshold.", "inventory", auth="required",
          request=s.InventorySettings, response=s.Inventory),
    Route("GET", "/v1/admin/inventory/{sku}/movements", "admin_list_stock_movements",
          "A SKU's stock ledger, newest first.", "inventory", auth="required", query=s.MovementQuery,
          response=s.MovementList),
    Route("POST", "/v1/admin/inventory/{sku}/movements", "admin_record_stock_movement",
          "Record a receipt, adjustment or correction.", "inventory", status=201, auth="required",
          request=s.MovementRequest, response=s.MovementResponse),
    Route("GET", "/v1/admin/warehouses", "admin_list_warehouses", "Every place holding stock, in allocation order.",
          "inventory", auth="required", query=s.ListQuery, response=s.WarehouseList),
    Route("PATCH", "/v1/admin/warehouses/{code}", "admin_update_warehouse", "Set a warehouse's allocation priority.",
          "inventory", auth="required", request=s.WarehousePriorityRequest, response=s.Warehouse),
    # carts (docs/orders.md): a guest's cart by its X-Cart-Token, a customer's by the bearer token
    Route("POST", "/v1/carts", "create_cart", "Create a cart; a guest's comes with its cart_token (shown once).",
          "carts", status=201, request=s.CartCreate, response=s.CartCreated, step="new_cart"),
    Route("GET", "/v1/carts/{id}", "get_cart", "A cart, priced now.", "carts", response=s.Cart, step="cart_token"),
    Route("PATCH", "/v1/carts/{id}", "update_cart", "Set the cart's e-mail.", "carts", request=s.CartUpdate,
          response=s.Cart, step="cart_token"),
    Route("POST", "/v1/carts/{id}/items", "add_cart_item", "Add units of a variant.", "carts", status=201,
          request=s.CartItemAdd, response=s.Cart, step="cart_token"),
    Route("PATCH", "/v1/carts/{id}/items/{item_id}", "update_cart_item", "Change a line's quantity (0 removes it).",
          "carts", request=s.CartItemUpdate, response=s.Cart, step="cart_token"),
    Route("DELETE", "/v1/carts/{id}/items/{item_id}", "delete_cart_item", "Remove a line.", "carts",
          response=s.Cart, step="cart_token"),
    Route("PUT", "/v1/carts/{id}/coupon", "set_cart_coupon", "Apply a coupon.", "carts", request=s.CouponCode,
          response=s.Cart, step="cart_token"),
    Route("DELETE", "/v1/carts/{id}/coupon", "remove_cart_coupon", "Remove the coupon.", "carts", response=s.Cart,
          step="cart_token"),
    Route("PUT", "/v1/carts/{id}/shipping-address", "set_cart_shipping_address",
          "Set the shipping address (or an address book entry).", "carts", request=s.CartAddressRequest,
          response=s.Cart, step="cart_token"),
    Route("GET", "/v1/carts/{id}/shipping-methods", "list_cart_shipping_methods",
          "The shipping methods for the cart's address and weight, with prices.", "carts",
          response=s.CartShippingOptions, step="cart_token"),
    Route("PUT", "/v1/carts/{id}/shipping-method", "set_cart_shipping_method", "Choose a shipping method.", "carts",
          request=s.ShippingMethodChoice, response=s.Cart, step="cart_token"),
    Route("POST", "/v1/carts/{id}/checkout", "checkout",
          "Place the cart as an order: every line reserved or none (send an Idempotency-Key).", "carts",
          status=201, request=s.CheckoutRequest, response=s.CheckoutResponse, step="checkout"),
    # promotions and coupons (catalog_manager; the database refuses everyone else)
    Route("POST", "/v1/admin/coupons", "admin_create_coupon", "Create a coupon (a promotion with a code).",
          "promotions", status=201, auth="required", request=s.CouponRequest, response=s.Promotion),
    Route("GET", "/v1/admin/promotions", "admin_list_promotions", "Promotions and coupons, newest first.",
          "promotions", auth="required", query=s.ListQuery, response=s.PromotionList),
    Route("POST", "/v1/admin/promotions", "admin_create_promotion",
          "Create a promotion (automatic without a code).", "promotions", status=201, auth="required",
          request=s.PromotionRequest, response=s.Promotion),
    Route("GET", "/v1/admin/promotions/{id}", "admin_get_promotion", "One promotion.", "promotions",
          auth="required", response=s.Promotion),
    Route("PATCH", "/v1/admin/promotions/{id}", "admin_update_promotion", "Change a promotion.", "promotions",
          auth="required", request=s.PromotionUpdate, response=s.Promotion),
    Route("DELETE", "/v1/admin/promotions/{id}", "admin_delete_promotion",
          "Delete a promotion never redeemed (else deactivate it).", "promotions", status=204, auth="required"),
    # orders after checkout (docs/orders.md): customers see and cancel their own; staff per permission role
    Route("GET", "/v1/me/orders", "list_my_orders", "The caller's orders, newest first.", "orders",
          auth="required", query=s.ListQuery, response=s.OrderList),
    Route("GET", "/v1/orders/{id}", "get_order", "One of the caller's orders (staff: any).", "orders",
          auth="required", response=s.Order),
    Route("POST", "/v1/orders/{id}/cancel", "cancel_order", "Cancel an order before it ships; stock is released.",
          "orders", auth="required", request=s.CancelOrderRequest, response=s.Order),
    Route("GET", "/v1/admin/orders", "admin_list_orders", "Orders of all customers (order_manager, support_agent).",
          "orders", auth="required", query=s.AdminOrderQuery, response=s.OrderList),
    Route("GET", "/v1/admin/orders/{id}", "admin_get_order", "Any order (order_manager, support_agent).", "orders",
          auth="required", response=s.Order),
    Route("POST", "/v1/admin/orders/{id}/payments", "admin_record_payment",
          "Record a manual payment (order_manager).", "orders", status=201, auth="required",
          request=s.ManualPaymentRequest, response=s.Order),
    Route("POST", "/v1/admin/orders/{id}/returns", "admin_create_return",
          "Record a return of shipped units (order_manager, support_agent).", "orders", status=201,
          auth="required", request=s.ReturnRequest, response=s.Order),
    # outgoing webhooks (docs/webhooks.md; store_admin): the secret is derived in Python and shown once
    Route("POST", "/v1/admin/webhooks", "admin_create_webhook", "Subscribe a URL to events (store_admin).",
          "webhooks", status=201, auth="required", request=s.WebhookRequest, response=s.WebhookWithSecret,
          step="webhook_secret"),
    Route("GET", "/v1/admin/webhooks", "admin_list_webhooks", "Webhook subscriptions, newest first, no secrets.",
          "webhooks", auth="required", query=s.ListQuery, response=s.WebhookList),
    Route("GET", "/v1/admin/webhooks/{id}", "admin_get_webhook", "One webhook subscription.", "webhooks",
          auth="required", response=s.Webhook),
    Route("PATCH", "/v1/admin/webhooks/{id}", "admin_update_webhook", "Change or (de)activate a subscription.",
          "webhooks", auth="required", request=s.WebhookUpdate, response=s.Webhook),
    Route("DELETE", "/v1/admin/webhooks/{id}", "admin_delete_webhook",
          "Remove a subscription with its deliveries; nothing pending is sent.", "webhooks", status=204,
          auth="required"),
    Route("POST", "/v1/admin/webhooks/{id}/rotate-secret", "admin_rotate_webhook_secret",
          "Replace the signing secret (the new one is shown once).", "webhooks", auth="required",
          response=s.WebhookWithSecret, step="webhook_secret"),
    Route("GET", "/v1/admin/webhooks/{id}/deliveries", "admin_list_webhook_deliveries",
          "Deliveries with their attempts, newest first.", "webhooks", auth="required",
          query=s.WebhookDeliveryQuery, response=s.WebhookDeliveryList),
    Route("POST", "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay", "admin_replay_webhook_delivery",
          "Send a dead or delivered delivery again.", "webhooks", status=202, auth="required",
          response=s.WebhookDelivery),
    Route("GET", "/v1/admin/webhook-event-types", "admin_list_webhook_event_types",
          "The event types a subscription may name.", "webhooks", auth="required", response=s.WebhookEventTypeList),
)

# Payments (docs/payments.md): handled in Python around their api functions, since the card gateway is
# called between two short transactions, never inside one (http/payments.py).
ROUTES += (
    Route("POST", "/v1/orders/{id}/payments", None,
          "Pay one of the caller's orders by card (a guest: with its cart's X-Cart-Token): a PaymentIntent for "
          "what is due; confirm it at the gateway with client_secret.", "payments", status=201,
          request=s.CreatePaymentRequest,
          response=s.PaymentCreated, step="create_payment"),
    Route("POST", "/v1/webhooks/card", None,
          "The card gateway's signed events (Stripe-Signature); each event id is applied once.", "payments",
          auth="none", response=s.WebhookReceived, step="card_webhook"),
    Route("POST", "/v1/admin/orders/{id}/refunds", None,
          "Refund part or all of a payment through its provider (order_manager).", "orders", status=201,
          auth="required", request=s.RefundRequest, response=s.RefundCreated, step="admin_refund"),
)

# Carriers (docs/carriers.md): handled in Python around their api functions, since the carrier is called
# between two short transactions, never inside one (http/carriers.py).
ROUTES += (
    Route("GET", "/v1/admin/orders/{id}/shipping-rates", None,
          "Rates for the order's unshipped units: the store's table rates and the HTTP carrier's quotes "
          "(order_manager).", "orders", auth="required", response=s.ShippingRates, step="shipping_rates"),
    Route("POST", "/v1/admin/orders/{id}/fulfillments", None,
          "Ship units of an order (order_manager); with buy_label the carrier's label is bought after the "
          "shipment is recorded.", "orders", status=201, auth="required", request=s.FulfillmentRequest,
          response=s.Order, step="create_fulfillment"),
    Route("POST", "/v1/admin/fulfillments/{id}/label", None,
          "Buy a shipment's label again after a failure; never buys two (order_manager).", "orders",
          auth="required", response=s.Order, step="retry_label"),
    Route("POST", "/v1/webhooks/carrier", None,
          "The carrier's signed tracking events (Shippo-Auth-Signature); each event id is applied once.",
          "orders", auth="none", response=s.CarrierWebhookReceived, step="carrier_webhook"),
)
