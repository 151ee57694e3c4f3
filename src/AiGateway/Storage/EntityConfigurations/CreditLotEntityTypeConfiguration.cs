using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

// Column names are snake_case because the hot path uses raw SQL on both SQLite and PostgreSQL.
internal sealed class CreditLotEntityTypeConfiguration : IEntityTypeConfiguration<CreditLot>
{
    public void Configure(EntityTypeBuilder<CreditLot> builder)
    {
        builder.ToTable("credit_lots");
        builder.HasKey(l => l.Id);
        builder.Property(l => l.Id).HasColumnName("id");
        builder.Property(l => l.AccountId).HasColumnName("account_id");
        builder.Property(l => l.Kind).HasColumnName("kind").HasMaxLength(16);
        builder.Property(l => l.Amount).HasColumnName("amount");
        builder.Property(l => l.Remaining).HasColumnName("remaining");
        builder.Property(l => l.Consumed).HasColumnName("consumed");
        builder.Property(l => l.Expired).HasColumnName("expired");
        builder.Property(l => l.Revoked).HasColumnName("revoked");
        builder.Property(l => l.EffectiveAt).HasColumnName("effective_at");
        builder.Property(l => l.ExpiresAt).HasColumnName("expires_at");
        builder.Property(l => l.Reason).HasColumnName("reason").HasMaxLength(500);
        builder.Property(l => l.SourceRef).HasColumnName("source_ref").HasMaxLength(200);
        builder.Property(l => l.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(200);
        builder.Property(l => l.CreatedAt).HasColumnName("created_at");
        builder.Property(l => l.Fingerprint).HasColumnName("fingerprint").HasMaxLength(64);
        builder.Property(l => l.ModelScope).HasColumnName("model_scope").HasMaxLength(2000);
        builder.Property(l => l.ModalityScope).HasColumnName("modality_scope").HasMaxLength(100);
        builder.HasIndex(l => new { l.AccountId, l.IdempotencyKey }).IsUnique();
        builder.HasIndex(l => new { l.AccountId, l.ExpiresAt });
        builder.HasOne<Account>().WithMany().HasForeignKey(l => l.AccountId);
    }
}
