using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class CreditLeaseEntityTypeConfiguration : IEntityTypeConfiguration<CreditLease>
{
    public void Configure(EntityTypeBuilder<CreditLease> builder)
    {
        builder.ToTable("credit_leases");
        // One lease per account and instance; summed per account under the account lock.
        builder.HasKey(l => new { l.AccountId, l.InstanceId });
        builder.Property(l => l.InstanceId).HasMaxLength(100);
        // The instance renews and refreshes all its leases in one statement.
        builder.HasIndex(l => l.InstanceId);
        builder.HasOne<Account>().WithMany().HasForeignKey(l => l.AccountId);
    }
}
