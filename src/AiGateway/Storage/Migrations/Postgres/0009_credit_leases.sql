-- Credit leases: blocks of an account's credits held by one gateway instance (counted as held until they expire).
CREATE TABLE credit_leases (
    account_id uuid NOT NULL,
    instance_id character varying(100) NOT NULL,
    amount bigint NOT NULL,
    expires_at bigint NOT NULL,
    backed_until bigint NOT NULL,
    recall boolean NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT "PK_credit_leases" PRIMARY KEY (account_id, instance_id),
    CONSTRAINT "FK_credit_leases_accounts_account_id" FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE INDEX "IX_credit_leases_instance_id" ON credit_leases (instance_id);
