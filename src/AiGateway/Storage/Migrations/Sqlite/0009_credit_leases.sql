-- Credit leases: blocks of an account's credits held by one gateway instance (counted as held until they expire).
CREATE TABLE "credit_leases" (
    "account_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "backed_until" INTEGER NOT NULL,
    "recall" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL,
    CONSTRAINT "PK_credit_leases" PRIMARY KEY ("account_id", "instance_id"),
    CONSTRAINT "FK_credit_leases_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);

CREATE INDEX "IX_credit_leases_instance_id" ON "credit_leases" ("instance_id");
