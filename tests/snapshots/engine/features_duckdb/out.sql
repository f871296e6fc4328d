SELECT
  "t9"."customer_id",
  DATE_DIFF('DAY', CAST("t9"."last_order_at" AS DATE), MAKE_DATE(2024, 3, 1)) AS "recency_days",
  COALESCE(COALESCE("t9"."frequency", 0), 0) AS "frequency",
  COALESCE(
    CASE
      WHEN ABS(COALESCE("t9"."monetary", 0.0)) < 10000000000000.0
      THEN CAST(CAST(ROUND(COALESCE("t9"."monetary", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100
      ELSE COALESCE("t9"."monetary", 0.0)
    END,
    0.0
  ) AS "monetary_total",
  CASE
    WHEN COALESCE("t9"."frequency", 0) > 0
    THEN CASE
      WHEN ABS(COALESCE("t9"."monetary", 0.0) / COALESCE("t9"."frequency", 0)) < 10000000000000.0
      THEN CAST(CAST(ROUND((
        COALESCE("t9"."monetary", 0.0) / COALESCE("t9"."frequency", 0)
      ) * 100, 0) AS BIGINT) AS DOUBLE) / 100
      ELSE COALESCE("t9"."monetary", 0.0) / COALESCE("t9"."frequency", 0)
    END
    ELSE NULL
  END AS "avg_order_value",
  DATE_DIFF('DAY', CAST("t9"."first_order_at" AS DATE), MAKE_DATE(2024, 3, 1)) AS "tenure_days",
  "t9"."first_order_at",
  "t9"."last_order_at",
  "t9"."ipt_mean" AS "interpurchase_mean_days",
  "t9"."ipt_std" AS "interpurchase_std_days",
  COALESCE(
    CASE
      WHEN ABS(COALESCE("t9"."rev_last", 0.0)) < 10000000000000.0
      THEN CAST(CAST(ROUND(COALESCE("t9"."rev_last", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100
      ELSE COALESCE("t9"."rev_last", 0.0)
    END,
    0.0
  ) AS "revenue_last_90d",
  COALESCE(
    CASE
      WHEN ABS(COALESCE("t9"."rev_prev", 0.0)) < 10000000000000.0
      THEN CAST(CAST(ROUND(COALESCE("t9"."rev_prev", 0.0) * 100, 0) AS BIGINT) AS DOUBLE) / 100
      ELSE COALESCE("t9"."rev_prev", 0.0)
    END,
    0.0
  ) AS "revenue_prev_90d",
  "t9"."n_discounted" / NULLIF("t9"."n_purchase", 0) AS "discount_share",
  "t9"."discount_sum" / NULLIF("t9"."spend" + "t9"."discount_sum", 0) AS "discount_rate",
  "t9"."n_returned" / NULLIF("t9"."n_purchase", 0) AS "return_rate",
  "t9"."cat_books" / NULLIF("t9"."spend", 0) AS "cat_books_share",
  "t9"."cat_toys" / NULLIF("t9"."spend", 0) AS "cat_toys_share",
  "t9"."cat_other" / NULLIF("t9"."spend", 0) AS "cat_other_share"
FROM (
  SELECT
    "t8"."customer_id",
    "t8"."monetary",
    "t8"."first_order_at",
    "t8"."last_order_at",
    "t8"."rev_last",
    "t8"."rev_prev",
    "t8"."n_purchase",
    "t8"."n_discounted",
    "t8"."n_returned",
    "t8"."discount_sum",
    "t8"."spend",
    "t8"."cat_books",
    "t8"."cat_toys",
    "t8"."cat_other",
    "t6"."frequency",
    "t6"."ipt_mean",
    "t6"."ipt_std"
  FROM (
    SELECT
      "t2"."customer_id",
      CASE
        WHEN (
          SUM(
            CAST(CASE
              WHEN COALESCE(ABS("t2"."r_amount") < 1000000000000.0, FALSE)
              THEN "t2"."r_amount"
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            CASE
              WHEN COALESCE(ABS("t2"."r_amount") < 1000000000000.0, FALSE)
              THEN NULL
              ELSE "t2"."r_amount"
            END
          ) IS NULL
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE COALESCE(
          CAST(SUM(
            CAST(CASE
              WHEN COALESCE(ABS("t2"."r_amount") < 1000000000000.0, FALSE)
              THEN "t2"."r_amount"
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            CASE
              WHEN COALESCE(ABS("t2"."r_amount") < 1000000000000.0, FALSE)
              THEN NULL
              ELSE "t2"."r_amount"
            END
          ),
          0.0
        )
      END AS "monetary",
      MIN("t2"."p_time") AS "first_order_at",
      MAX("t2"."p_time") AS "last_order_at",
      CASE
        WHEN (
          SUM(
            CAST(CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN CASE
                WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                THEN "t2"."r_amount"
                ELSE NULL
              END
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN NULL
              ELSE CASE
                WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                THEN "t2"."r_amount"
                ELSE NULL
              END
            END
          ) IS NULL
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE COALESCE(
          CAST(SUM(
            CAST(CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN CASE
                WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                THEN "t2"."r_amount"
                ELSE NULL
              END
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN NULL
              ELSE CASE
                WHEN "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                THEN "t2"."r_amount"
                ELSE NULL
              END
            END
          ),
          0.0
        )
      END AS "rev_last",
      CASE
        WHEN (
          SUM(
            CAST(CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN (
                      "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                    )
                    AND (
                      "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    )
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN CASE
                WHEN (
                  "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                )
                AND (
                  "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                )
                THEN "t2"."r_amount"
                ELSE NULL
              END
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN (
                      "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                    )
                    AND (
                      "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    )
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN NULL
              ELSE CASE
                WHEN (
                  "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                )
                AND (
                  "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                )
                THEN "t2"."r_amount"
                ELSE NULL
              END
            END
          ) IS NULL
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE COALESCE(
          CAST(SUM(
            CAST(CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN (
                      "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                    )
                    AND (
                      "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    )
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN CASE
                WHEN (
                  "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                )
                AND (
                  "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                )
                THEN "t2"."r_amount"
                ELSE NULL
              END
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            CASE
              WHEN COALESCE(
                ABS(
                  CASE
                    WHEN (
                      "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                    )
                    AND (
                      "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                    )
                    THEN "t2"."r_amount"
                    ELSE NULL
                  END
                ) < 1000000000000.0,
                FALSE
              )
              THEN NULL
              ELSE CASE
                WHEN (
                  "t2"."ordered_at" > MAKE_TIMESTAMP(2023, 9, 3, 0, 0, 0.0)
                )
                AND (
                  "t2"."ordered_at" <= MAKE_TIMESTAMP(2023, 12, 2, 0, 0, 0.0)
                )
                THEN "t2"."r_amount"
                ELSE NULL
              END
            END
          ),
          0.0
        )
      END AS "rev_prev",
      COUNT("t2"."p_time") AS "n_purchase",
      COUNT(*) FILTER(WHERE
        "t2"."p_discount" > 0) AS "n_discounted",
      COUNT(*) FILTER(WHERE
        COALESCE("t2"."returned", FALSE)) AS "n_returned",
      SUM("t2"."p_discount") AS "discount_sum",
      SUM("t2"."p_amount") AS "spend",
      SUM(CASE WHEN "t2"."category" = 'books' THEN "t2"."p_amount" ELSE 0.0 END) AS "cat_books",
      SUM(CASE WHEN "t2"."category" = 'toys' THEN "t2"."p_amount" ELSE 0.0 END) AS "cat_toys",
      SUM(
        CASE
          WHEN COALESCE("t2"."category" IN ('books', 'toys'), FALSE)
          THEN 0.0
          ELSE "t2"."p_amount"
        END
      ) AS "cat_other"
    FROM (
      SELECT
        "t0"."customer_id",
        "t0"."order_id",
        "t0"."ordered_at",
        "t0"."amount",
        "t0"."status",
        0.0 AS "discount",
        FALSE AS "returned",
        "t0"."category",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN "t0"."amount"
          ELSE CAST(NULL AS DOUBLE)
        END AS "p_amount",
        CASE
          WHEN COALESCE((
            "t0"."status" = 'paid'
          ) OR (
            "t0"."amount" < 0
          ), FALSE)
          THEN "t0"."amount"
          ELSE CAST(NULL AS DOUBLE)
        END AS "r_amount",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN COALESCE(0.0, 0.0)
          ELSE CAST(NULL AS DOUBLE)
        END AS "p_discount",
        CASE
          WHEN COALESCE("t0"."status" IN ('paid', 'refunded') AND (
            "t0"."amount" >= 0
          ), FALSE)
          THEN "t0"."ordered_at"
          ELSE CAST(NULL AS TIMESTAMP)
        END AS "p_time"
      FROM "orders" AS "t0"
      WHERE
        "t0"."customer_id" IS NOT NULL
        AND "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 3, 1, 0, 0, 0.0)
    ) AS "t2"
    GROUP BY
      1
  ) AS "t8"
  LEFT OUTER JOIN (
    SELECT
      "t4"."customer_id",
      COUNT(*) AS "frequency",
      AVG("t4"."gap") AS "ipt_mean",
      STDDEV_SAMP("t4"."gap") AS "ipt_std"
    FROM (
      SELECT
        "t3"."customer_id",
        "t3"."order_id",
        "t3"."start",
        CAST(EPOCH(CAST("t3"."start" AS TIMESTAMP)) - EPOCH(
          CAST(LAG("t3"."start") OVER (
            PARTITION BY "t3"."customer_id"
            ORDER BY "t3"."start" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS TIMESTAMP)
        ) AS DOUBLE) / 86400 AS "gap"
      FROM (
        SELECT
          "t1"."customer_id",
          "t1"."order_id",
          MIN("t1"."ordered_at") AS "start"
        FROM (
          SELECT
            "t0"."customer_id",
            "t0"."order_id",
            "t0"."ordered_at",
            "t0"."amount",
            "t0"."status",
            0.0 AS "discount",
            FALSE AS "returned",
            "t0"."category"
          FROM "orders" AS "t0"
          WHERE
            "t0"."customer_id" IS NOT NULL
            AND "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 3, 1, 0, 0, 0.0)
            AND COALESCE("t0"."status" IN ('paid', 'refunded') AND (
              "t0"."amount" >= 0
            ), FALSE)
            AND "t0"."order_id" IS NOT NULL
        ) AS "t1"
        GROUP BY
          1,
          2
      ) AS "t3"
    ) AS "t4"
    GROUP BY
      1
  ) AS "t6"
    ON "t8"."customer_id" = "t6"."customer_id"
) AS "t9"
ORDER BY
  "t9"."customer_id" ASC
