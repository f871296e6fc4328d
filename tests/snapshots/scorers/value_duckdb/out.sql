SELECT
  "t0"."customer_id",
  "t0"."clv",
  "t0"."p_alive",
  "t0"."revenue",
  CASE
    WHEN COALESCE(
      CASE WHEN ISNAN("t0"."revenue") THEN CAST(NULL AS DOUBLE) ELSE "t0"."revenue" END >= 350.0,
      FALSE
    )
    AND COALESCE(
      CASE WHEN ISNAN("t0"."p_alive") THEN CAST(NULL AS DOUBLE) ELSE "t0"."p_alive" END < 0.5,
      FALSE
    )
    THEN 'Churn risk'
    ELSE CASE
      WHEN COALESCE(
        CASE WHEN ISNAN("t0"."clv") THEN CAST(NULL AS DOUBLE) ELSE "t0"."clv" END >= 812.5,
        FALSE
      )
      THEN 'Top 1%'
      WHEN COALESCE(
        CASE WHEN ISNAN("t0"."clv") THEN CAST(NULL AS DOUBLE) ELSE "t0"."clv" END >= 203.25,
        FALSE
      )
      THEN 'Top 10%'
      WHEN COALESCE(
        CASE WHEN ISNAN("t0"."clv") THEN CAST(NULL AS DOUBLE) ELSE "t0"."clv" END >= 41.0,
        FALSE
      )
      THEN 'Middle'
      ELSE 'Low'
    END
  END AS "segment"
FROM "customer_values" AS "t0"
