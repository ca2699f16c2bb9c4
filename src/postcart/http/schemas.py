"""Request and response shapes of the HTTP API (pydantic). They document the contract in OpenAPI;
Python validates only the bodies it handles itself (login, refresh, TOTP) — the database validates
everything it receives."""

from __future__ import annotations

from datetime import datetime
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
    password: str = Field(description="At least 10 characters, not the email")
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


class UpdateMeRequest(Model):
    full_name: str


class AddressRequest(Model):
    full_name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2", examples=["DE"])
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


class TotpConfirmRequest(BaseModel):
    secret: str = Field(max_length=64)
    otp: str = Field(max_length=10)


class ListQuery(Model):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


class CreateStaffRequest(Model):
    email: str
    full_name: str
    password: str = Field(description="At least 10 characters, not the email")
    roles: list[Literal["catalog_manager", "inventory_manager", "order_manager", "support_agent", "store_admin"]]


class Staff(Model):
    id: UUID
    email: str
    full_name: str
    roles: list[str]


class StaffResponse(Model):
    staff: Staff


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


class ProductQueryOne(Model):
    currency: str = "EUR"


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
    prices: list[Money] | None = Field(default=None, description="Replaces the variant's prices when given")


class MediaInput(Model):
    url: str
    alt: str | None = None


class ProductWrite(Model):
    name: str | None = None
    slug: str | None = Field(default=None, description="Made from the name when absent (-2, -3 on collision)")
    description: str | None = None
    product_type: str | None = Field(default=None, description="Product type code; attributes follow it")
    attributes: dict[str, Any] | None = None
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
