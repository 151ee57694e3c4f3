using AiGateway.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class AccountEntityTypeConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> builder)
    {
        builder.ToTable("accounts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Name).HasMaxLength(200).IsRequired();
        builder.Property(a => a.Plan).HasMaxLength(100);
    }
}

internal sealed class GatewayKeyEntityTypeConfiguration : IEntityTypeConfiguration<GatewayKey>
{
    public void Configure(EntityTypeBuilder<GatewayKey> builder)
    {
        builder.ToTable("gateway_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Name).HasMaxLength(200).IsRequired();
        builder.Property(k => k.Prefix).HasMaxLength(32).IsRequired();
        builder.Property(k => k.Hash).HasMaxLength(64).IsRequired();
        builder.HasIndex(k => k.Hash).IsUnique();
        builder.HasIndex(k => k.Prefix);
        builder.HasIndex(k => k.AccountId);
        builder.HasOne<Account>().WithMany().HasForeignKey(k => k.AccountId);
    }
}
