using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class CreditChargeEntityTypeConfiguration : IEntityTypeConfiguration<CreditCharge>
{
    public void Configure(EntityTypeBuilder<CreditCharge> builder)
    {
        builder.ToTable("credit_charges");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).HasColumnName("id");
        builder.Property(c => c.AccountId).HasColumnName("account_id");
        builder.Property(c => c.RequestId).HasColumnName("request_id").HasMaxLength(200);
        builder.Property(c => c.HoldId).HasColumnName("hold_id");
        builder.Property(c => c.Amount).HasColumnName("amount");
        builder.Property(c => c.Overage).HasColumnName("overage");
        builder.Property(c => c.CreatedAt).HasColumnName("created_at");
        builder.HasIndex(c => c.RequestId).IsUnique();
        builder.HasIndex(c => c.AccountId);
        builder.HasOne<Account>().WithMany().HasForeignKey(c => c.AccountId);
    }
}

internal sealed class ChargeAllocationEntityTypeConfiguration : IEntityTypeConfiguration<ChargeAllocation>
{
    public void Configure(EntityTypeBuilder<ChargeAllocation> builder)
    {
        builder.ToTable("charge_allocations");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasColumnName("id");
        builder.Property(a => a.ChargeId).HasColumnName("charge_id");
        builder.Property(a => a.LotId).HasColumnName("lot_id");
        builder.Property(a => a.Amount).HasColumnName("amount");
        builder.HasIndex(a => a.ChargeId);
        builder.HasIndex(a => a.LotId);
        builder.HasOne<CreditCharge>().WithMany().HasForeignKey(a => a.ChargeId);
        builder.HasOne<CreditLot>().WithMany().HasForeignKey(a => a.LotId);
    }
}
