using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class CreditHoldEntityTypeConfiguration : IEntityTypeConfiguration<CreditHold>
{
    public void Configure(EntityTypeBuilder<CreditHold> builder)
    {
        builder.ToTable("credit_holds");
        builder.HasKey(h => h.Id);
        builder.Property(h => h.Id).HasColumnName("id");
        builder.Property(h => h.AccountId).HasColumnName("account_id");
        builder.Property(h => h.RequestId).HasColumnName("request_id").HasMaxLength(200);
        builder.Property(h => h.Amount).HasColumnName("amount");
        builder.Property(h => h.Status).HasColumnName("status").HasMaxLength(16);
        builder.Property(h => h.CreatedAt).HasColumnName("created_at");
        builder.Property(h => h.ExpiresAt).HasColumnName("expires_at");
        builder.Property(h => h.ResolvedAt).HasColumnName("resolved_at");
        builder.Property(h => h.ChargeId).HasColumnName("charge_id");
        builder.Property(h => h.Task).HasColumnName("task").HasMaxLength(200);
        builder.Property(h => h.Fingerprint).HasColumnName("fingerprint").HasMaxLength(64);
        builder.HasIndex(h => h.RequestId).IsUnique();
        // The sweep looks for active holds past their TTL; settled, released and expired holds (all but a few) stay
        // out of this index. The account's holds are found through (account_id, task) below.
        builder.HasIndex(h => h.ExpiresAt).HasDatabaseName("IX_credit_holds_active_expires_at").HasFilter("status = 'active'");
        // A task budget check sums the task's holds (and their charges) at every admission.
        builder.HasIndex(h => new { h.AccountId, h.Task });
        builder.HasOne<Account>().WithMany().HasForeignKey(h => h.AccountId);
    }
}

internal sealed class CreditHoldRecordEntityTypeConfiguration : IEntityTypeConfiguration<CreditHoldRecord>
{
    public void Configure(EntityTypeBuilder<CreditHoldRecord> builder)
    {
        builder.ToTable("credit_hold_records");
        builder.HasKey(r => r.HoldId);
        builder.Property(r => r.HoldId).ValueGeneratedNever();
        builder.HasOne<CreditHold>().WithOne().HasForeignKey<CreditHoldRecord>(r => r.HoldId);
    }
}
