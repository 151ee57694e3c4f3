-- Scoped lots: a lot may be limited to model patterns and/or modalities (comma lists; NULL = any).
ALTER TABLE "credit_lots" ADD COLUMN "model_scope" TEXT NULL;
ALTER TABLE "credit_lots" ADD COLUMN "modality_scope" TEXT NULL;
