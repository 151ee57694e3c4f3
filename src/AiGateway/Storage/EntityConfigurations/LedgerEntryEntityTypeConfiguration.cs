using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class LedgerEntryEntityTypeConfiguration : IEntityTypeConfiguration<LedgerEntry>
{
    public void Configure(EntityTypeBuilder<LedgerEntry> builder)
    {
        builder.ToTable("ledger_entries");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id");
        builder.Property(e => e.AccountId).HasColumnName("account_id");
        builder.Property(e => e.At).HasColumnName("at");
        builder.Property(e => e.Type).HasColumnName("type").HasMaxLength(16);
        builder.Property(e => e.Amount).HasColumnName("amount");
        builder.Property(e => e.AvailableAfter).HasColumnName("available_after");
        builder.Property(e => e.LotId).HasColumnName("lot_id");
        builder.Property(e => e.HoldId).HasColumnName("hold_id");
        builder.Property(e => e.ChargeId).HasColumnName("charge_id");
        builder.Property(e => e.RequestId).HasColumnName("request_id").HasMaxLength(200);
        builder.Property(e => e.Note).HasColumnName("note").HasMaxLength(200);
        builder.HasIndex(e => new { e.AccountId, e.Type, e.Id });
        // Ledger pages and export chunks walk one account's movements in id order whatever their types.
        builder.HasIndex(e => new { e.AccountId, e.Id });
        builder.HasOne<Account>().WithMany().HasForeignKey(e => e.AccountId);
    }
}

internal sealed class LedgerAccountStateEntityTypeConfiguration : IEntityTypeConfiguration<LedgerAccountState>
{
    public void Configure(EntityTypeBuilder<LedgerAccountState> builder)
    {
        builder.ToTable("ledger_accounts");
        builder.HasKey(s => s.AccountId);
        builder.Property(s => s.AccountId).HasColumnName("account_id");
        builder.Property(s => s.Held).HasColumnName("held");
        builder.Property(s => s.Overage).HasColumnName("overage");
        builder.Property(s => s.UpdatedAt).HasColumnName("updated_at");
        builder.HasOne<Account>().WithOne().HasForeignKey<LedgerAccountState>(s => s.AccountId);
    }
}
