-- Task budgets: holds remember their agent task; task_budgets stores each task's credit ceiling.
ALTER TABLE credit_holds ADD COLUMN task character varying(200);

CREATE TABLE task_budgets (
    account_id uuid NOT NULL,
    task character varying(200) NOT NULL,
    budget_micro bigint NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT "PK_task_budgets" PRIMARY KEY (account_id, task),
    CONSTRAINT "FK_task_budgets_accounts_account_id" FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE INDEX "IX_credit_holds_account_id_task" ON credit_holds (account_id, task);
