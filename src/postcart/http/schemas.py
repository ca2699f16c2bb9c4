"""Request and response shapes of the HTTP API (pydantic). They document the contract in OpenAPI;
Python validates only the bodies it handles itself (login, refresh) and the secrets it prepares
(passwords, codes, tokens) — the database validates everything it receives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Money(Model):
    amount: int = Field(description="Integer minor units (cents)")
    currency: str = Field(pattern="^[A-Z]{3}$", examples=["EUR"])


class ErrorDetail(Model):
    code: str = Field(description="Stable snake_case code, e.g. out_of_stock")
    message: str = Field(description="A human sentence")
    details: dict[str, Any] = Field(description="Specifics, e.g. {\"fields\": {\"email\": \"...\"}}")


class ErrorResponse(Model):
    error: ErrorDetail


class Status(Model):
    status: str


# -- accounts ---------------------------------------------------------------------------------
class RegisterRequest(Model):
    email: str
    password: str = Field(description="10 to 1024 characters, not the email; hashed by the server, never stored")
    full_name: str


class Customer(Model):
    id: UUID
    email: str
    full_name: str


class RegisterResponse(Model):
    customer: Customer


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    otp: str | None = Field(default=None, description="Current TOTP code when MFA is on", max_length=10)
    recovery_code: str | None = Field(
        default=None, max_length=64,
        description="When MFA is on and no otp is sent: one of the account's recovery codes, accepted once")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=200)


class TokenResponse(Model):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the access token expires")


class Me(Model):
    id: UUID
    email: str
    full_name: str
    created_at: datetime
    email_verified: bool = Field(description="Whether the owner of the address proved it (a verification link)")
    marketing_emails: bool = Field(description="Whether marketing mail (abandoned-cart reminders) goes to it now")


class UpdateMeRequest(Model):
    full_name: str | None = None
    marketing_emails: bool | None = Field(default=None, description="Consent to marketing mail (default: none)")


class PasswordResetRequest(Model):
    email: str = Field(max_length=254)


class PasswordResetConfirmRequest(BaseModel):
    token: str = Field(max_length=200, description="The token of the reset link (valid 30 minutes, once)")
    password: str = Field(max_length=1024, description="10 to 1024 characters, not the email")


class TokenRequest(BaseModel):
    token: str = Field(max_length=200, description="The token of the link the mail carried")


class Unsubscribed(Model):
    unsubscribed: bool


class AddressRequest(Model):
    full_name: str
    line1: str
    line2: str | None = None
    city: str
    region: str | None = Field(default=None, description="ISO 3166-2 subdivision without the country (US: CA)",
                               examples=["CA"])
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2 (any case)", examples=["DE"])
    phone: str | None = None


class AddressUpdateRequest(Model):
    """Only the members sent change; null or "" clears line2, region and phone."""

    full_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = Field(default=None, description="ISO 3166-2 subdivision without the country (US: CA)")
    postal_code: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 (any case)", examples=["DE"])
    phone: str | None = None


class Address(AddressRequest):
    id: UUID
    created_at: datetime


class AddressList(Model):
    items: list[Address]
    next_cursor: str | None


class TotpSetupResponse(Model):
    secret: str = Field(description="Base32 secret to add to an authenticator app")
    otpauth_uri: str


class TotpEnableRequest(BaseModel):
    secret: str = Field(max_length=128, description="The secret from POST /v1/me/mfa/totp")
    otp: str = Field(max_length=10, description="A current code for that secret (six ASCII digits)")
    password: str = Field(max_length=1024, description="The account's password (re-authentication)")


class TotpDisableRequest(BaseModel):
    password: str = Field(max_length=1024, description="The account's password (re-authentication)")
    otp: str | None = Field(default=None, max_length=10, description="A current TOTP code")
    recovery_code: str | None = Field(default=None, max_length=64, description="Or an unused recovery code")


class DeleteMeRequest(BaseModel):
    password: str = Field(max_length=1024, description="The account's password (re-authentication)")


class MeExport(Model):
    """Everything held about the caller (docs/privacy.md); credentials only as whether they exist."""
    exported_at: datetime
    account: dict[str, Any] = Field(description="Profile, consent, password_set, mfa_enabled, recovery_codes_left")
    addresses: list[dict[str, Any]]
    carts: list[dict[str, Any]]
    orders: list[dict[str, Any]] = Field(description="Orders with lines, payments, shipments, returns, refunds")
    promotion_redemptions: list[dict[str, Any]]
    sessions: list[dict[str, Any]] = Field(description="Sign-ins with user agent and IP address")
    login_attempts: list[dict[str, Any]]
    account_requests: list[dict[str, Any]] = Field(description="Password resets and e-mail verifications asked")
    mails: list[dict[str, Any]]
    events: list[dict[str, Any]] = Field(description="Outbox events about the account, its carts and orders")


class RecoveryCodes(Model):
    recovery_codes: list[str] = Field(
        description="Ten single-use codes (xxxx-xxxx-xxxx-xxxx), shown only this once; each signs in once "
                    "in place of a TOTP code", min_length=10, max_length=10)


class StaffInvitationAcceptRequest(BaseModel):
    token: str = Field(max_length=200, description="The invitation token a DBA made with auth.invite_staff")
    password: str = Field(max_length=1024, description="10 to 1024 characters, not the email")


class ListQuery(Model):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


PermissionRole = Literal["catalog_manager", "inventory_manager", "order_manager", "support_agent", "store_admin"]


class CreateStaffRequest(Model):
    email: str
    full_name: str
    password: str = Field(description="At least 10 characters, not the email")
    roles: list[PermissionRole]


class Staff(Model):
    id: UUID
    email: str
    full_name: str
    roles: list[str]
    active: bool
    state: Literal["invited", "active", "deactivated"]
    mfa_enabled: bool
    created_at: datetime
    deactivated_at: datetime | None


class StaffResponse(Model):
    staff: Staff


class StaffList(Model):
    items: list[Staff]
    next_cursor: str | None


class StaffQuery(Model):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None
    role: PermissionRole | None = Field(default=None, description="Only members holding this role")
    active: bool | None = Field(default=None, description="Only active (true) or deactivated (false) members")


class AuditQuery(Model):
    table: str | None = Field(default=None, description="Only records of this table, e.g. shop.orders",
                              examples=["shop.orders"])
    record_id: str | None = Field(default=None, description="Only records of this row's id (needs table)")
    since: datetime | None = Field(default=None, description="Only records at or after this instant")
    before: datetime | None = Field(default=None, description="Only records before this instant")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


class AuditRecord(Model):
    id: int
    at: datetime
    txid: int
    account_id: UUID | None = Field(description="The account acting; null for direct SQL")
    db_role: str = Field(description="The role acting")
    login_role: str = Field(description="The database login (session_user)")
    request_id: str | None
    table: str
    record_id: str | None
    record_key: dict[str, Any] | None
    action: Literal["insert", "update", "delete", "truncate", "login", "login_failed", "purge"]
    old_values: dict[str, Any] | None = Field(description="Before (changed columns only for an update)")
    new_values: dict[str, Any] | None = Field(description="After; secrets read \"[redacted]\"")


class AuditList(Model):
    items: list[AuditRecord]
    next_cursor: str | None


class ReportQuery(Model):
    since: date | None = Field(default=None, description="From this day (inclusive, UTC), on the report's date")
    until: date | None = Field(default=None, description="Up to this day (inclusive, UTC)")
    currency: str | None = Field(default=None, description="Only rows in this currency", examples=["EUR"])
    period: str | None = Field(default=None, description="top_products: day, week or month")
    format: Literal["json", "csv"] | None = Field(default=None, description="csv: every matching row as text/csv")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


class Report(Model):
    report: str
    columns: list[str] = Field(description="The view's columns, in order (the CSV header)")
    items: list[dict[str, Any]] = Field(description="One object per row, keyed by column; amounts in minor units")
    next_cursor: str | None


class UpdateStaffRequest(Model):
    roles: list[PermissionRole] | None = Field(
        default=None, description="The member's permission roles, exactly (the others are taken away)")
    active: bool | None = Field(
        default=None, description="false deactivates: every session ends at once and login is refused")


# -- catalog ----------------------------------------------------------------------------------
class CategoryRef(Model):
    id: UUID
    slug: str
    name: str


class ProductSummary(Model):
    id: UUID
    slug: str
    name: str
    description: str | None
    price: Money | None
    in_stock: bool
    image_url: str | None
    category: CategoryRef | None


class FacetCount(Model):
    slug: str
    name: str
    count: int


class PriceRange(Model):
    min: int | None
    max: int | None
    count: int


class AttributeValueCount(Model):
    value: str
    count: int


class AttributeFacet(Model):
    name: str
    values: list[AttributeValueCount]


class Facets(Model):
    categories: list[FacetCount]
    price_ranges: list[PriceRange]
    attributes: list[AttributeFacet]


class ProductList(Model):
    items: list[ProductSummary]
    next_cursor: str | None
    facets: Facets


class ProductQuery(ListQuery):
    q: str | None = Field(default=None, description="Search text; typo-tolerant, best match first")
    category: str | None = Field(default=None, description="Category slug (includes subcategories)")
    collection: str | None = Field(default=None, description="Collection slug")
    min_price: int | None = Field(default=None, description="Minor units, in `currency`")
    max_price: int | None = None
    currency: str = "EUR"
    sort: Literal["relevance", "newest", "price_asc", "price_desc", "name"] | None = None
    in_stock: bool | None = Field(default=None, description="true: only products with stock available")
    attr: dict[str, list[str]] | None = Field(
        default=None, json_schema_extra={"prefixed": True},
        description="Sent as `attr.<name>=<value>`, repeatable: attr.size=M&attr.size=L&attr.color=red lists "
                    "products of size M or L that are red")


class ProductQueryOne(Model):
    currency: str = "EUR"


class RecommendationQuery(Model):
    strategy: Literal["frequently_bought_together", "also_viewed"] = Field(
        default="frequently_bought_together",
        description="frequently_bought_together: products most often in the same orders; also_viewed: products "
                    "most often viewed in the same browsing sessions")
    limit: int = Field(default=8, ge=1, le=24)
    currency: str = "EUR"


class RecommendationList(Model):
    items: list[ProductSummary] = Field(description="Published, in stock, priced in the currency; the strategy's "
                                                    "first, then same-category bestsellers")
    strategy: Literal["frequently_bought_together", "also_viewed", "category_bestsellers"] = Field(
        description="The strategy asked for when it gave the first items, else category_bestsellers")
    matched: int = Field(description="How many of the items the strategy itself gave")


class Variant(Model):
    id: UUID
    sku: str
    name: str
    options: dict[str, Any]
    price: Money | None
    in_stock: bool
    available_quantity: int


class MediaRef(Model):
    url: str
    alt: str


class Product(Model):
    id: UUID
    slug: str
    name: str
    description: str | None
    attributes: dict[str, Any]
    category: CategoryRef | None
    image_url: str | None
    media: list[MediaRef] = Field(default_factory=list, description="Images in display order")
    variants: list[Variant]


class CategoryNode(Model):
    id: UUID
    slug: str
    name: str
    children: list[CategoryNode]


class CategoryTree(Model):
    items: list[CategoryNode]


# -- stores near me ---------------------------------------------------------------------------
class StoreQuery(ListQuery):
    near: str | None = Field(default=None, examples=["52.52,13.405"],
                             description="Latitude,longitude in decimal degrees: the nearest stores first, "
                                         "in one page of `limit` (no cursor). Without it: by name, keyset pages.")


class StoreAddress(Model):
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2", examples=["DE"])


class Store(Model):
    id: UUID
    code: str = Field(examples=["BER-1"])
    name: str
    address: StoreAddress
    latitude: float
    longitude: float
    pickup: bool = Field(description="Orders can be collected here")
    distance_km: float | None = Field(description="Great-circle distance from `near` (null without it)")


class StoreList(Model):
    items: list[Store]
    next_cursor: str | None


class CreateStoreRequest(Model):
    code: str = Field(examples=["BER-3"], description="Letters and digits in hyphen-separated groups; unique "
                                                       "regardless of case; never changes")
    name: str
    address: StoreAddress
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    pickup: bool = Field(default=False, description="Customers may collect orders here")
    listed: bool = Field(default=True, description="Shown by GET /v1/stores")


class AdminStore(Store):
    listed: bool
    updated_at: datetime | None = None


class AdminStoreAddress(Model):
    """A fulfilment centre that only ships may have no address (null members)."""

    line1: str | None
    line2: str | None = None
    city: str | None
    postal_code: str | None
    country: str | None = Field(description="ISO 3166-1 alpha-2", examples=["DE"])


class AdminPlace(AdminStore):
    address: AdminStoreAddress  # type: ignore[assignment]
    latitude: float | None  # type: ignore[assignment]
    longitude: float | None  # type: ignore[assignment]


class AdminPlaceList(Model):
    items: list[AdminPlace]
    next_cursor: str | None


class StoreAddressUpdate(Model):
    line1: str | None = None
    line2: str | None = Field(default=None, description="null or \"\" clears it")
    city: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 (any case)", examples=["DE"])


class UpdateStoreRequest(Model):
    """Only the members sent change; the code never does."""

    name: str | None = None
    address: StoreAddressUpdate | None = Field(default=None, description="Only the members sent change")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    pickup: bool | None = None
    listed: bool | None = None


# -- prices (price lists, markdowns, customer groups) ----------------------------------------
class CustomerGroupRequest(Model):
    code: str = Field(description="Lower-case words joined by hyphens", examples=["wholesale"])
    name: str


class CustomerGroup(Model):
    id: UUID
    code: str
    name: str


class CustomerGroupResponse(Model):
    customer_group: CustomerGroup


class SetCustomerGroupRequest(Model):
    customer_group: str | None = Field(description="A customer group code, or null for none")


class CustomerWithGroup(Model):
    id: UUID
    customer_group: CustomerGroup | None


class SetCustomerGroupResponse(Model):
    customer: CustomerWithGroup


class PriceListRequest(Model):
    name: str
    customer_group: str | None = Field(default=None, description="Code of the customer group it is for")
    starts_at: datetime | None = Field(default=None, description="Inclusive; open when absent")
    ends_at: datetime | None = Field(default=None, description="Exclusive; open when absent")
    priority: int = Field(default=0, ge=-1000000, le=1000000, description="Higher wins among lists")


class PriceList(Model):
    id: UUID
    name: str
    customer_group: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    created_at: datetime


class PriceListResponse(Model):
    price_list: PriceList


class PriceListUpdate(Model):
    """Only the members sent change."""

    name: str | None = None
    customer_group: str | None = Field(default=None, description="Code of a customer group, or null: everyone")
    starts_at: datetime | None = Field(default=None, description="Inclusive; null: open")
    ends_at: datetime | None = Field(default=None, description="Exclusive; null: open")
    priority: int | None = Field(default=None, ge=-1000000, le=1000000, description="null: 0")


class PriceListSummary(PriceList):
    price_count: int


class PriceListList(Model):
    items: list[PriceListSummary]
    next_cursor: str | None


class PriceListPrice(Model):
    sku: str
    amount: int = Field(ge=0, description="Integer minor units")
    currency: str = Field(pattern="^[A-Z]{3}$", examples=["EUR"])
    min_quantity: int = Field(default=1, ge=1, description="Applies from this many units up (tiers)")
    starts_at: datetime | None = Field(default=None, description="Narrows the list's window (inclusive)")
    ends_at: datetime | None = Field(default=None, description="Narrows the list's window (exclusive)")


class PriceListPricesRequest(Model):
    prices: list[PriceListPrice] = Field(max_length=10000)


class PriceListPriceOut(PriceListPrice):
    variant_id: UUID


class PriceListPricesResponse(Model):
    price_list: PriceList
    prices: list[PriceListPriceOut]


class PriceWindow(Model):
    starts_at: datetime | None = Field(description="Inclusive; null: open")
    ends_at: datetime | None = Field(description="Exclusive; null: open")


class PriceListPriceDetail(PriceListPriceOut):
    window: PriceWindow = Field(description="When the price applies: the list's window cut by its own")


class PriceListDetail(Model):
    price_list: PriceList
    prices: list[PriceListPriceDetail]


class MarkdownRequest(Model):
    name: str
    percent_off: float = Field(gt=0, le=100, description="At most two decimals, e.g. 12.5")
    category: str | None = Field(default=None, description="Category slug (subcategories included); one scope of "
                                                            "category, product and collection")
    product: str | None = Field(default=None, description="Product slug or id")
    collection: str | None = Field(default=None, description="Collection slug: the products in it at each instant")
    starts_at: datetime = Field(description="Inclusive")
    ends_at: datetime = Field(description="Exclusive")


class Markdown(Model):
    id: UUID
    name: str
    percent_off: float
    category: CategoryRef | None
    product: CategoryRef | None
    collection: CategoryRef | None = None
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


class MarkdownResponse(Model):
    markdown: Markdown


# -- tax and shipping (docs/tax-and-shipping.md) ---------------------------------------------
class TaxRateQuery(ListQuery):
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$", examples=["DE"],
                                description="Only this country's rates")


class TaxRateRequest(Model):
    country: str = Field(pattern="^[A-Z]{2}$", examples=["US"], description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, pattern="^[A-Z0-9]{1,3}$", examples=["CA"],
                               description="ISO 3166-2 subdivision code without the country; none: the whole country")
    tax_class: str = Field(examples=["standard"])
    rate_percent: float = Field(ge=0, le=100, examples=[7.25], description="At most four decimals")
    name: str = Field(examples=["CA sales tax"], description="The label on receipts")
    valid_from: datetime | None = Field(default=None, description="Inclusive; open when absent")
    valid_to: datetime | None = Field(default=None, description="Exclusive; open when absent")


class TaxRate(Model):
    id: UUID
    country: str
    region: str | None
    tax_class: str
    rate_percent: float
    name: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    updated_at: datetime


class TaxRateResponse(Model):
    tax_rate: TaxRate


class TaxRateList(Model):
    items: list[TaxRate]
    next_cursor: str | None


class WeightTierInput(Model):
    min_weight_grams: int = Field(default=0, ge=0)
    max_weight_grams: int | None = Field(default=None, ge=0, description="Inclusive; none: no upper limit")
    amount: int = Field(ge=0, description="Integer minor units of the method's currency")


class ShippingMethodRequest(Model):
    zone: str = Field(examples=["de"], description="Shipping zone code (zones are managed in SQL)")
    code: str = Field(examples=["de-parcel"], description="Lower-case words joined by hyphens; what a cart selects")
    name: str
    currency: str = Field(pattern="^[A-Z]{3}$", examples=["EUR"])
    rate_kind: Literal["flat", "weight_tiered"]
    flat_amount: int | None = Field(default=None, ge=0, description="Required for flat methods")
    free_from_subtotal: int | None = Field(default=None, ge=0, description="Free from this subtotal (inclusive)")
    tax_class: str | None = Field(default=None, description="Default standard")
    active: bool = True
    position: int = Field(default=0, ge=-1000000, le=1000000, description="Order among equal prices")
    tiers: list[WeightTierInput] | None = Field(default=None, max_length=100,
                                                description="Weight-tiered methods: at least one, not overlapping")


class ZoneCountry(Model):
    country: str
    region: str | None


class ShippingZone(Model):
    code: str
    name: str
    countries: list[ZoneCountry]


class WeightTier(Model):
    min_weight_grams: int
    max_weight_grams: int | None
    amount: Money


class ShippingMethod(Model):
    id: UUID
    code: str
    name: str
    zone: ShippingZone
    currency: str
    rate_kind: Literal["flat", "weight_tiered"]
    flat_amount: Money | None
    free_from_subtotal: Money | None
    tiers: list[WeightTier]
    tax_class: str
    active: bool
    position: int
    created_at: datetime
    updated_at: datetime


class ShippingMethodResponse(Model):
    shipping_method: ShippingMethod


class ShippingMethodList(Model):
    items: list[ShippingMethod]

class MarkdownQuery(ListQuery):
    status: Literal["scheduled", "active", "ended"] | None = Field(
        default=None, description="scheduled: not started; active: applies now; ended")


class MarkdownList(Model):
    items: list[Markdown]
    next_cursor: str | None


# -- staff catalog management -------------------------------------------------------------------
class AttributeDefinition(Model):
    type: Literal["text", "number", "boolean", "enum"]
    values: list[str] | None = Field(default=None, description="The allowed values (enum only)")
    required: bool = False


class ProductTypeRequest(Model):
    code: str | None = Field(default=None, description="Made from the name when absent")
    name: str
    attributes: dict[str, AttributeDefinition] = Field(default_factory=dict)


class ProductTypeUpdate(Model):
    code: str | None = None
    name: str | None = None
    attributes: dict[str, AttributeDefinition] | None = None


class ProductType(Model):
    id: UUID
    code: str
    name: str
    attributes: dict[str, AttributeDefinition]
    created_at: datetime
    updated_at: datetime


class VariantInput(Model):
    id: UUID | None = Field(default=None, description="Update this variant (else matched by sku, else added)")
    sku: str | None = None
    name: str | None = None
    options: dict[str, Any] | None = None
    position: int | None = None
    weight_grams: int | None = Field(default=None, ge=0, le=10000000, description="Shipping weight of one unit "
                                                                                  "(0 when absent on creation)")
    prices: list[Money] | None = Field(default=None, description="Replaces the variant's prices when given")
    remove: bool | None = Field(default=None, description="true: delete this variant (given by id or sku); only "
                                                          "for a product never shown on the storefront")


class MediaInput(Model):
    url: str
    alt: str | None = None


class ProductWrite(Model):
    name: str | None = None
    slug: str | None = Field(default=None, description="Made from the name when absent (-2, -3 on collision)")
    description: str | None = None
    product_type: str | None = Field(default=None, description="Product type code; attributes follow it")
    attributes: dict[str, Any] | None = None
    tax_class: str | None = Field(default=None, description="Tax class code (standard when absent on creation)",
                                  examples=["reduced"])
    category_id: UUID | None = None
    status: Literal["draft", "published", "archived"] | None = None
    publish_at: datetime | None = Field(default=None, description="Visible from this instant (implies published)")
    variants: list[VariantInput] | None = None
    media: list[MediaInput] | None = Field(default=None, description="Replaces the images, in display order")


class ProductCreate(ProductWrite):
    name: str  # type: ignore[assignment]


class AdminVariant(Model):
    id: UUID
    sku: str
    name: str
    options: dict[str, Any]
    position: int
    weight_grams: int
    prices: list[Money]


class AdminMedia(Model):
    id: UUID
    url: str
    alt: str
    position: int


class ProductTypeRef(Model):
    id: UUID
    code: str
    name: str


class AdminProduct(Model):
    id: UUID
    slug: str
    former_slugs: list[str]
    name: str
    description: str
    status: Literal["draft", "published", "archived"]
    published_at: datetime | None
    scheduled: bool = Field(description="Published with published_at still in the future")
    product_type: ProductTypeRef | None
    attributes: dict[str, Any]
    tax_class: str
    category: CategoryRef | None
    image_url: str | None
    media: list[AdminMedia]
    variants: list[AdminVariant]
    created_at: datetime
    updated_at: datetime


class AdminProductQuery(ListQuery):
    status: Literal["draft", "published", "scheduled", "archived"] | None = None
    q: str | None = Field(default=None, description="Part of the name, or an exact slug or SKU")


class AdminProductSummary(Model):
    id: UUID
    slug: str
    name: str
    status: str
    published_at: datetime | None
    scheduled: bool
    product_type: str | None
    category: CategoryRef | None
    image_url: str | None
    variant_count: int
    updated_at: datetime


class AdminProductList(Model):
    items: list[AdminProductSummary]
    next_cursor: str | None


class CategoryWrite(Model):
    name: str | None = None
    slug: str | None = Field(default=None, description="Made from the name when absent")
    parent_id: UUID | None = Field(default=None, description="null: top level; a move takes the subtree along")
    position: int | None = None


class CategoryCreate(CategoryWrite):
    name: str  # type: ignore[assignment]


class AdminCategory(Model):
    id: UUID
    parent_id: UUID | None
    slug: str
    name: str
    position: int
    created_at: datetime
    updated_at: datetime


class CollectionCreate(Model):
    name: str
    slug: str | None = Field(default=None, description="Made from the name when absent")


class CollectionProductsRequest(Model):
    product_ids: list[UUID] = Field(description="In display order")


class AdminCollectionProduct(Model):
    id: UUID
    slug: str
    name: str
    status: str


class AdminCollection(Model):
    id: UUID
    slug: str
    name: str
    products: list[AdminCollectionProduct]
    created_at: datetime
    updated_at: datetime


class CollectionQuery(ListQuery):
    currency: str = "EUR"


class Collection(Model):
    id: UUID
    slug: str
    name: str
    items: list[ProductSummary]
    next_cursor: str | None


class ImportResult(Model):
    created: int = Field(description="Products created")
    updated: int = Field(description="Products updated")


# -- inventory (docs/inventory.md) ----------------------------------------------------------------
class StockLevel(Model):
    sku: str
    warehouse: str = Field(description="Warehouse code", examples=["eu-central"])
    on_hand: int = Field(description="Units physically there: the sum of the ledger's movements")
    reserved: int = Field(description="Units promised to orders not yet shipped")
    available: int = Field(description="on_hand - reserved (negative while backorders wait for stock)")


class SetStockRequest(Model):
    warehouse: str = Field(description="Warehouse code", examples=["eu-central"])
    on_hand: int = Field(ge=0, le=1000000000, description="The counted quantity; the difference is recorded as "
                                                          "an adjustment movement")
    note: str | None = Field(default=None, max_length=1000)


class WarehouseStock(Model):
    warehouse: str
    priority: int = Field(description="Allocation order: lowest first")
    on_hand: int
    reserved: int
    available: int


class Inventory(Model):
    sku: str
    variant_id: UUID
    product_id: UUID
    on_hand: int
    reserved: int
    available: int = Field(description="Over all warehouses: the storefront's availability")
    backorder_limit: int = Field(description="Units that may be reserved beyond on_hand in each warehouse")
    low_stock_threshold: int | None = Field(description="stock.low is written at or below this; null: no alert")
    low_stock: bool = Field(description="At or below the threshold (its stock.low event was written)")
    warehouses: list[WarehouseStock] = Field(description="Warehouses that hold or held the SKU, in allocation order")


class InventorySettings(Model):
    backorder_limit: int | None = Field(default=None, ge=0, le=1000000000,
                                        description="Units that may be reserved beyond on_hand per warehouse")
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1000000000,
                                            description="Alert level; null removes the alert")


class MovementRequest(Model):
    warehouse: str = Field(description="Warehouse code", examples=["eu-central"])
    kind: Literal["receipt", "adjustment", "correction"] = Field(
        description="Sales and returns are recorded by orders")
    quantity: int = Field(ge=-1000000000, le=1000000000,
                          description="Units in (> 0) or out (< 0), never 0; > 0 for a receipt")
    reference: str | None = Field(default=None, max_length=200, description="E.g. a delivery note number")
    note: str | None = Field(default=None, max_length=1000)


class Movement(Model):
    id: UUID
    sku: str
    warehouse: str
    kind: Literal["receipt", "adjustment", "sale", "return", "correction"]
    quantity: int
    reference: str | None
    note: str | None
    staff_id: UUID | None = Field(description="The staff member who recorded it; null for the system")
    created_at: datetime


class MovementResponse(Model):
    movement: Movement
    stock: StockLevel


class MovementQuery(ListQuery):
    warehouse: str | None = Field(default=None, description="Only this warehouse's movements (code)")


class MovementList(Model):
    items: list[Movement] = Field(description="Newest first")
    next_cursor: str | None


class Warehouse(Model):
    id: UUID
    code: str
    name: str
    priority: int = Field(description="Allocation order: lowest first")
    pickup: bool
    listed: bool


class WarehouseList(Model):
    items: list[Warehouse] = Field(description="In allocation order (priority, then code)")
    next_cursor: str | None


class WarehousePriorityRequest(Model):
    priority: int = Field(ge=0, le=1000000, description="Allocation order: lowest first")


# -- carts (docs/orders.md) -------------------------------------------------------------------
class CartCreate(Model):
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", examples=["EUR"],
                                 description="Default EUR; a currency the store prices in")


class CartItem(Model):
    id: UUID
    variant_id: UUID
    product_id: UUID
    sku: str
    name: str = Field(description="The product's name (variant_name: the variant's)")
    variant_name: str
    quantity: int
    unit_price: Money | None = Field(description="Current unit price; null when no longer for sale")
    line_total: Money | None = Field(description="quantity x unit_price - discount")
    discount: Money
    tax: Money
    quoted_unit_price: Money = Field(description="The unit price last shown; checkout refuses when it changed")
    price_changed: bool
    available_quantity: int = Field(description="Units that can be ordered now")


class CartPromotion(Model):
    code: str | None = Field(description="The coupon's code; null for an automatic promotion")
    name: str
    kind: Literal["percent", "fixed", "free_shipping"]
    amount: Money


class CartShippingAddress(Model):
    full_name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None


class CartShippingMethod(Model):
    code: str
    name: str
    amount: Money


class CartProblem(Model):
    code: str = Field(description="cart_empty, not_for_sale, price_changed, shipping_address_required, "
                                  "shipping_method_required, shipping_method_unavailable, "
                                  "coupon_not_applicable, coupon_exhausted")


class Cart(Model):
    id: UUID
    currency: str
    status: Literal["open", "ordered", "merged", "abandoned"]
    email: str | None
    items: list[CartItem]
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    tax_total: Money = Field(description="Included in the prices or added to the total (prices_include_tax)")
    total: Money
    prices_include_tax: bool
    tax_calculated: bool = Field(description="False until there is a shipping address (tax 0 until then)")
    coupon_code: str | None
    promotions: list[CartPromotion]
    shipping_address: CartShippingAddress | None
    shipping_method: CartShippingMethod | None
    weight_grams: int
    problems: list[CartProblem] = Field(description="What blocks checkout")
    expires_at: datetime


class CartCreated(Cart):
    cart_token: str | None = Field(description="A guest cart's token, shown once: send it as X-Cart-Token. "
                                               "null for a signed-in customer's cart")


class CartUpdate(Model):
    email: str | None = Field(default=None, description="For checkout and the abandoned-cart mail; null clears")


class CartItemAdd(Model):
    variant_id: UUID | None = Field(default=None, description="The variant, or give its sku")
    sku: str | None = None
    quantity: int = Field(ge=1, le=999)


class CartItemUpdate(Model):
    quantity: int = Field(ge=0, le=999, description="0 removes the line")


class CouponCode(Model):
    code: str = Field(max_length=64)


class CartAddressRequest(Model):
    """An address, or address_id of the signed-in customer's address book."""

    address_id: UUID | None = None
    full_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = Field(default=None, examples=["CA"], description="ISO 3166-2 subdivision, no country")
    postal_code: str | None = None
    country: str | None = Field(default=None, examples=["DE"], description="ISO 3166-1 alpha-2")
    phone: str | None = None


class CartShippingOption(Model):
    code: str
    name: str
    amount: Money
    free_from_subtotal: Money | None
    selected: bool


class CartShippingOptions(Model):
    items: list[CartShippingOption] = Field(description="Cheapest first")


class ShippingMethodChoice(Model):
    code: str = Field(max_length=64)


# -- promotions and coupons (docs/orders.md) ----------------------------------------------------
class PromotionTargets(Model):
    category_ids: list[UUID] = Field(default_factory=list, description="With their subcategories")
    collection_ids: list[UUID] = Field(default_factory=list)
    product_ids: list[UUID] = Field(default_factory=list)


class PromotionRequest(Model):
    code: str | None = Field(default=None, description="A coupon's code (case-insensitive); none: automatic")
    name: str | None = Field(default=None, description="Default: the code")
    kind: Literal["percent", "fixed", "free_shipping"]
    value: float | None = Field(default=None, description="percent: 0 < value <= 100; fixed: minor units; "
                                                          "free_shipping: none")
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", description="Required for fixed and "
                                                                                 "min_subtotal")
    min_subtotal: int | None = Field(default=None, ge=0, description="Of the eligible lines, minor units")
    starts_at: datetime | None = Field(default=None, description="Inclusive")
    ends_at: datetime | None = Field(default=None, description="Exclusive")
    usage_limit: int | None = Field(default=None, ge=1)
    per_customer_limit: int | None = Field(default=None, ge=1)
    active: bool = True
    targets: PromotionTargets | None = Field(default=None, description="None: every line")


class CouponRequest(PromotionRequest):
    code: str = Field(description="Letters, digits, _ and -; case-insensitive")  # type: ignore[assignment]


class PromotionUpdate(Model):
    """Only the members sent change; null clears the optional ones."""

    name: str | None = None
    value: float | None = None
    currency: str | None = None
    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    active: bool | None = None
    targets: PromotionTargets | None = None


class Promotion(Model):
    id: UUID
    code: str | None
    name: str
    kind: Literal["percent", "fixed", "free_shipping"]
    value: float | None
    currency: str | None
    min_subtotal: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    times_used: int = Field(description="Live redemptions (kept for promotions with a usage_limit)")
    active: bool
    targets: PromotionTargets


# -- orders after checkout (docs/orders.md) --------------------------------------------------------
class OrderLine(Model):
    id: UUID
    variant_id: UUID | None = Field(description="null once the variant is deleted; sku and name stay")
    product_id: UUID | None
    sku: str
    name: str
    quantity: int
    unit_price: Money
    discount: Money = Field(description="The line's share of the order's discounts")
    line_total: Money = Field(description="quantity x unit_price - discount")
    tax: Money
    tax_rate_percent: float
    quantity_fulfilled: int
    quantity_returned: int


class LineQuantity(Model):
    item_id: UUID = Field(description="An order line's id (order.items[].id)")
    quantity: int = Field(ge=1, le=999)


class Shipment(Model):
    id: UUID
    carrier: str | None
    tracking_number: str | None
    service: str | None = Field(default=None, description="The carrier's service level of a bought label")
    label_status: Literal["none", "pending", "purchased", "failed"] = Field(
        default="none", description="none: no label asked (tracking typed by staff); failed: retry the label")
    label_url: str | None = None
    label_error: str | None = Field(default=None, description="Why buying the label failed")
    tracking_status: Literal["shipped", "in_transit", "delivered", "failure", "returned"] = Field(
        default="shipped", description="From the carrier's tracking webhooks")
    delivered_at: datetime | None = None
    items: list[LineQuantity]
    created_at: datetime


class OrderPayment(Model):
    id: UUID
    provider: str
    status: str
    amount: Money
    captured_amount: Money
    refunded_amount: Money
    note: str | None
    created_at: datetime


class OrderReturn(Model):
    id: UUID
    restock: bool
    refund_amount: Money
    reason: str | None
    items: list[LineQuantity]
    created_at: datetime


OrderStatus = Literal["pending_payment", "paid", "fulfilled", "completed", "cancelled", "returned", "refunded"]


class Order(Model):
    id: UUID
    number: int = Field(description="Human, gapless order number")
    status: OrderStatus
    payment_status: Literal["unpaid", "partially_paid", "paid", "partially_refunded", "refunded"]
    fulfillment_status: Literal["unfulfilled", "partially_fulfilled", "fulfilled", "partially_returned", "returned"]
    email: str
    currency: str
    items: list[OrderLine]
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    tax_total: Money
    total: Money
    tax_source: Literal["builtin", "external", "builtin_fallback"] = Field(
        default="builtin", description="builtin_fallback: a tax service is configured but its quote was not used")
    tax_fallback_reason: str | None = Field(default=None, description="Why the built-in rates were charged")
    paid_amount: Money
    refunded_amount: Money
    refund_due: Money = Field(description="Paid and not given back on a cancelled order (refunded by issue 8)")
    shipping_address: dict[str, Any]
    shipping_method: dict[str, Any] = Field(description="{code, name}")
    payment_method: str
    coupon_code: str | None
    payment_due_at: datetime | None = Field(description="When the worker cancels it if still unpaid")
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    fulfillments: list[Shipment]
    payments: list[OrderPayment]
    returns: list[OrderReturn]


class OrderSummary(Model):
    id: UUID
    number: int
    status: OrderStatus
    payment_status: str
    fulfillment_status: str
    email: str
    currency: str
    item_count: int = Field(description="Units ordered")
    total: Money
    paid_amount: Money
    payment_method: str
    created_at: datetime
    updated_at: datetime


class PromotionList(Model):
    items: list[Promotion] = Field(description="Newest first")
    next_cursor: str | None


class OrderList(Model):
    items: list[OrderSummary] = Field(description="Newest first")
    next_cursor: str | None


class AdminOrderQuery(ListQuery):
    status: OrderStatus | None = Field(default=None, description="Only orders in this status")


class CancelOrderRequest(Model):
    reason: str | None = Field(default=None, max_length=1000)


class ManualPaymentRequest(Model):
    amount: int = Field(ge=1, le=100000000000, description="Minor units received, at most the open balance")
    note: str | None = Field(default=None, max_length=1000)


class FulfillmentRequest(Model):
    items: list[LineQuantity] = Field(min_length=1, description="Lines and units to ship")
    carrier: str | None = Field(default=None, max_length=100,
                                description="With buy_label: a carrier that sells labels (http)")
    tracking_number: str | None = Field(default=None, max_length=100, description="Typed by staff; not with buy_label")
    service: str | None = Field(default=None, max_length=100,
                                description="With buy_label: the service of a shipping rate (default: the cheapest)")
    buy_label: bool = Field(default=False, description="Buy the carrier's label after recording the shipment")


class ShippingRate(Model):
    carrier: str = Field(description="table (the store's shipping methods) or http (the carrier service)")
    service: str
    name: str
    amount: Money
    estimated_days: int | None


class ShippingRates(Model):
    order_id: UUID
    weight_grams: int
    declared_value: Money
    origin_country: str | None
    rates: list[ShippingRate] = Field(description="Cheapest first")
    unavailable: list[dict[str, Any]] = Field(description="Carriers that did not answer: {carrier, code}")


class ReturnRequest(Model):
    items: list[LineQuantity] = Field(min_length=1, description="Shipped lines and units coming back")
    restock: bool = Field(description="Put the units back into stock (return movements)")
    refund_amount: int | None = Field(default=None, ge=0, le=100000000000,
                                      description="Refund recorded, minor units; at most paid - refunded")
    reason: str | None = Field(default=None, max_length=1000)


class CheckoutRequest(Model):
    payment_method: str = Field(description="A code of shop.payment_methods: manual, cash_on_delivery or card",
                                examples=["manual"])
    email: str | None = Field(default=None, max_length=254,
                              description="Where the confirmation goes (guests; a customer's account e-mail is used)")


class CheckoutResponse(Model):
    order: Order


# -- outgoing webhooks (docs/webhooks.md) -----------------------------------------------------------
class BehaviourEvent(Model):
    type: Literal["page_view", "product_view", "add_to_cart", "checkout_started", "search"]
    session_id: str = Field(min_length=1, max_length=100,
                            description="The client's opaque browsing-session id (not an auth token)")
    product_id: UUID | None = Field(default=None, description="Required for product_view and add_to_cart")
    query: str | None = Field(default=None, description="The search text (search events only)")
    occurred_at: datetime | None = Field(default=None,
                                         description="At most 5 minutes ahead, 7 days old; default: now")


class EventBatch(Model):
    events: list[BehaviourEvent] = Field(min_length=1, max_length=100)


class EventsAccepted(Model):
    accepted: int = Field(description="How many events were recorded (all of them)")


class WebhookRequest(Model):
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to; no user:password@ in it",
                     examples=["https://crm.example/hooks/postcart"])
    events: list[str] = Field(min_length=1, max_length=100,
                              description='Event types (GET /v1/admin/webhook-event-types), or ["*"] for all',
                              examples=[["order.created", "order.paid"]])
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = Field(default=None, description="Default true")


class WebhookUpdate(Model):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = Field(default=None, description="false: no new deliveries; pending ones wait")


class Webhook(Model):
    id: UUID = Field(description="Also the key of the signing secret's derivation")
    url: str
    events: list[str]
    description: str | None
    active: bool
    secret_version: int = Field(description="Which secret signs: rotation adds 1")
    secret_rotated_at: datetime | None = Field(description="For 24 h after it, the previous secret signs too")
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(description="whsec_<base64>: verify signatures with it. Shown only in this answer",
                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class WebhookList(Model):
    items: list[Webhook] = Field(description="Newest first; no secrets")
    next_cursor: str | None


class WebhookAttempt(Model):
    attempt: int
    attempted_at: datetime
    duration_ms: int | None
    response_status: int | None = Field(description="The subscriber's HTTP status; null without an answer")
    error: str | None = Field(description="Why there was no answer (timeout, refused, lost worker)")


class WebhookDelivery(Model):
    id: UUID
    event_id: UUID = Field(description="The webhook-id header: consumers dedupe by it")
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int = Field(description="Attempts since creation or the last replay")
    in_flight: bool = Field(description="An attempt is being sent now")
    next_attempt_at: datetime | None = Field(description="Next retry; null when delivered, dead or the webhook is "
                                                         "inactive")
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_history: list[WebhookAttempt] = Field(description="The last 20 attempts, newest first")


class WebhookDeliveryQuery(ListQuery):
    status: Literal["pending", "delivered", "dead"] | None = None


class WebhookDeliveryList(Model):
    items: list[WebhookDelivery] = Field(description="Newest first")
    next_cursor: str | None


class WebhookEventType(Model):
    type: str = Field(examples=["order.paid"])
    description: str


class WebhookEventTypeList(Model):
    items: list[WebhookEventType]


# -- payments (docs/payments.md) --------------------------------------------------------------
class CreatePaymentRequest(Model):
    provider: Literal["card"] = Field(description="card: a PaymentIntent at the card gateway (wallets included)")


class CardPayment(Model):
    id: UUID
    status: Literal["pending", "authorized", "captured", "voided", "failed", "refunded", "partially_refunded"]
    amount: Money
    provider: str
    client_secret: str | None = Field(description="For the client to confirm the payment at the gateway "
                                                   "(card details go there, never to postcart); not stored")


class PaymentCreated(Model):
    payment: CardPayment


class RefundRequest(Model):
    amount: int = Field(ge=1, le=100000000000, description="Minor units to give back, at most captured - refunded")
    reason: str | None = Field(default=None, max_length=1000)
    payment_id: UUID | None = Field(default=None, description="The payment to refund; default: the newest that "
                                                               "covers the amount")


class RefundOrderState(Model):
    status: str
    payment_status: str
    refunded_amount: Money


class Refund(Model):
    id: UUID
    payment_id: UUID
    amount: Money
    status: Literal["pending", "succeeded", "failed"]
    reason: str | None
    failure_code: str | None


class RefundCreated(Model):
    refund: Refund
    order: RefundOrderState


class WebhookReceived(Model):
    received: bool
    duplicate: bool = Field(description="The event id was applied before; nothing changed")


class CarrierWebhookReceived(Model):
    received: bool
    duplicate: bool = Field(description="The carrier event id was applied before; nothing changed")
