from ninja import Field, Schema


class RevealIn(Schema):
    target: str = Field(
        ..., max_length=200, description="`<app_label>.<model>:<pk>`, e.g. `customers.customer:42`"
    )
    field: str = Field(..., max_length=64, description="Name of the protected field")
    reason: str = Field(..., max_length=500, description="Why you need it (at least 5 characters)")


class RevealOut(Schema):
    target: str
    field: str
    value: str = Field(..., description='The clear value; "[erased]" if the data key is destroyed')
    erased: bool
