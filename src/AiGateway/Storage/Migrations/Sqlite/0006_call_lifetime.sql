-- Hold lifetime: an active hold carries the record of its call in case the call is interrupted (kill -9), stored by the
-- sweep when the hold expires unresolved; video jobs remember their cluster so the gateway can poll them itself.
ALTER TABLE "credit_holds" ADD COLUMN "interrupted_record" TEXT NULL;

ALTER TABLE "video_jobs" ADD COLUMN "cluster" TEXT NULL;
