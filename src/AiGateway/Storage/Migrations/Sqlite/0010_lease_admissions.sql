-- Admission markers of calls held against credit leases: resolved as interrupted call records after a crash.
CREATE TABLE "lease_admissions" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_lease_admissions" PRIMARY KEY AUTOINCREMENT,
    "instance_id" TEXT NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "records" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL
);

CREATE INDEX "IX_lease_admissions_expires_at" ON "lease_admissions" ("expires_at");

CREATE INDEX "IX_lease_admissions_instance_id" ON "lease_admissions" ("instance_id");
