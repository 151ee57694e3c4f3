using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class TaskBudgetEntityTypeConfiguration : IEntityTypeConfiguration<TaskBudget>
{
    public void Configure(EntityTypeBuilder<TaskBudget> builder)
    {
        builder.ToTable("task_budgets");
        // One ceiling per task of an account: the upsert at admission relies on this key.
        builder.HasKey(t => new { t.AccountId, t.Task });
        builder.Property(t => t.AccountId).HasColumnName("account_id");
        builder.Property(t => t.Task).HasColumnName("task").HasMaxLength(200);
        builder.Property(t => t.BudgetMicro).HasColumnName("budget_micro");
        builder.Property(t => t.CreatedAt).HasColumnName("created_at");
        builder.Property(t => t.UpdatedAt).HasColumnName("updated_at");
        builder.HasOne<Account>().WithMany().HasForeignKey(t => t.AccountId);
    }
}
